package salesflow.peer.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** chrono's RFC 3339 reading, as salesflow's decoder relies on it. */
class Rfc3339Test {
    private static final long T0 = 1_795_341_600_000L; // 2026-11-22T10:00:00Z

    @Test
    void readsWhatChronoReads() {
        assertEquals(T0, Rfc3339.epochMillis("2026-11-22T10:00:00Z"));
        assertEquals(T0, Rfc3339.epochMillis("2026-11-22t10:00:00z"));
        assertEquals(T0, Rfc3339.epochMillis("2026-11-22 10:00:00Z"));
        assertEquals(T0, Rfc3339.epochMillis("2026-11-22T12:00:00+02:00"));
        assertEquals(T0, Rfc3339.epochMillis("2026-11-22T00:30:00-09:30"));
        assertEquals(T0, Rfc3339.epochMillis("2026-11-22T05:00:00\u221205:00"));
        assertEquals(T0 + 123, Rfc3339.epochMillis("2026-11-22T10:00:00.1239999999999Z"));
        assertEquals(T0, Rfc3339.epochMillis("2026-11-22T10:00:00.0009Z"));
        // A leap second counts as one more second after :59.
        assertEquals(T0 + 60_500, Rfc3339.epochMillis("2026-11-22T10:00:60.5Z"));
        assertEquals(-1L, Rfc3339.epochMillis("1969-12-31T23:59:59.999Z"));
        assertEquals(951_782_400_000L, Rfc3339.epochMillis("2000-02-29T00:00:00Z"));
    }

    @Test
    void refusesWhatChronoRefuses() {
        for (String text : new String[] {"2026-11-22T10:00:00", "2026-11-22T10:00Z", "2026-11-22", "2026-02-30T10:00:00Z",
                "2026-13-01T10:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T10:60:00Z", "2026-11-22T10:00:61Z",
                "2026-11-22T10:00:00.Z", "2026-11-22T10:00:00+0200", "2026-11-22T10:00:00+02", "2026-11-22T10:00:00+24:00",
                "2026-11-22T10:00:00+02:60", "2026-11-22T10:00:00Zx", "2026-11-22X10:00:00Z", "26-11-22T10:00:00Z",
                "2026-3-31T10:00:00Z", "2026-11-22T10:00:00 Z", "yesterday", "2026-13-45T99:00:00Z", "2026-03-31 10:00"}) {
            assertNull(Rfc3339.epochMillis(text), text);
        }
    }
}
