package salesflow.peer.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReadingOrderTest {
    @Test
    void numbersFirstInNumericOrderThenBytes() {
        List<String> ids = new ArrayList<>(List.of("b-2", "10", "007", "B-7", "9", "b-10", "1000", "0", "\uFFFD", "\uD83D\uDE00"));
        ids.sort(ReadingOrder.INSTANCE);
        // U+FFFD (EF BF BD) sorts before U+1F600 (F0 ...) in UTF-8, though not in UTF-16.
        assertEquals(List.of("0", "9", "10", "1000", "007", "B-7", "b-10", "b-2", "\uFFFD", "\uD83D\uDE00"), ids);
    }
}
