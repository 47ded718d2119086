package salesflow.peer.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** salesflow's {@code fixed_point_parsing_is_exact} cases. */
class FixedPointTest {
    @Test
    void parsesExactly() throws BadInput {
        assertEquals(19_990_000L, FixedPoint.parse("19.99", 6));
        assertEquals(1_000_000_000L, FixedPoint.parse("0.1", 10));
        assertEquals(0L, FixedPoint.parse("-0", 6));
        assertEquals(0L, FixedPoint.parse("000.000", 0));
        assertEquals(1_500_000L, FixedPoint.parse("1.50000000000000000000000000000000000", 6));
        assertEquals(1L, FixedPoint.parse("1e-6", 6));
        assertEquals(1200L, FixedPoint.parse("12E+2", 0));
        assertEquals(5L, FixedPoint.parse("+5", 0));
        assertEquals(5L, FixedPoint.parse(".5", 1));
        assertEquals(5L, FixedPoint.parse("5.", 0));
        assertEquals(Long.MAX_VALUE, FixedPoint.parse("9223372036854775807", 0));
        assertEquals(Long.MIN_VALUE, FixedPoint.parse("-9223372036854775808", 0));
        assertEquals(0L, FixedPoint.parse("0e999999999999999999999", 6));
        assertEquals(-123_450_000L, FixedPoint.parse("-1.2345e2", 6));
    }

    @Test
    void refusesWhatIsNotExact() {
        for (String text : new String[] {"9223372036854775808", "1e999999999999999999999", "1e-999999999999999999999",
                "1.0000001", "", "-", ".", "e5", "1e", "1e+", "1_000", "0x10", "NaN", "1.2.3", " 1", "--1"}) {
            assertThrows(BadInput.class, () -> FixedPoint.parse(text, 6), text);
        }
    }
}
