package salesflow.peer.model;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;

/**
 * Ids in the order people read them (README "Ranking ties"): plain non-negative integers
 * ({@code "7"}, {@code "42"}, no leading zero) first, in numeric order, then every other id in
 * UTF-8 byte order. Java's {@code String.compareTo} compares UTF-16 units, which orders some
 * characters differently, hence the bytes.
 */
public final class ReadingOrder implements Comparator<String> {
    public static final ReadingOrder INSTANCE = new ReadingOrder();

    private ReadingOrder() {}

    @Override
    public int compare(String a, String b) {
        boolean aNumber = isCanonicalNumber(a);
        boolean bNumber = isCanonicalNumber(b);
        if (aNumber && bNumber) {
            // Equal-length digit strings without leading zeros compare like their numbers.
            return a.length() != b.length() ? Integer.compare(a.length(), b.length()) : a.compareTo(b);
        }
        if (aNumber != bNumber) {
            return aNumber ? -1 : 1;
        }
        return Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    static boolean isCanonicalNumber(String id) {
        if (id.isEmpty() || (id.length() > 1 && id.charAt(0) == '0')) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            if (id.charAt(i) < '0' || id.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }
}
