package salesflow.peer.decode;

import java.time.DateTimeException;
import java.time.LocalDate;

/**
 * RFC 3339 date-times exactly as chrono 0.4's {@code DateTime::parse_from_rfc3339} reads them
 * (the Rust decoder's parser), then {@code timestamp_millis}: {@code YYYY-MM-DD}, then {@code T},
 * {@code t} or a space, {@code hh:mm:ss}, an optional fraction of any length (digits past the
 * ninth ignored, sub-milliseconds dropped toward the past), and {@code Z}, {@code z} or
 * {@code ±hh:mm} (U+2212 MINUS SIGN too) below 24 hours. A second of 60 is a leap second, which
 * chrono counts as one more second after :59. {@link java.time.OffsetDateTime#parse} differs in
 * several of these, hence this port.
 */
final class Rfc3339 {
    private Rfc3339() {}

    private static final long NANOS_PER_MILLI = 1_000_000L;

    /** Epoch milliseconds, or null if {@code s} is not such a date-time. */
    static Long epochMillis(String s) {
        if (s.length() < 19) {
            return null;
        }
        int year = digits(s, 0, 4);
        int month = digits(s, 5, 2);
        int day = digits(s, 8, 2);
        int hour = digits(s, 11, 2);
        int minute = digits(s, 14, 2);
        int second = digits(s, 17, 2);
        char separator = s.charAt(10);
        if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0
                || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(13) != ':' || s.charAt(16) != ':'
                || !(separator == 'T' || separator == 't' || separator == ' ')) {
            return null;
        }
        LocalDate date;
        try {
            date = LocalDate.of(year, month, day);
        } catch (DateTimeException e) {
            return null;
        }
        long nanos = 0;
        if (second == 60) {
            second = 59;
            nanos = 1_000_000_000L;
        }
        int at = 19;
        if (at < s.length() && s.charAt(at) == '.') {
            at++;
            int start = at;
            long fraction = 0;
            while (at < s.length() && isDigit(s.charAt(at))) {
                if (at - start < 9) {
                    fraction = fraction * 10 + (s.charAt(at) - '0');
                }
                at++;
            }
            if (at == start) {
                return null;
            }
            for (int places = Math.min(at - start, 9); places < 9; places++) {
                fraction *= 10;
            }
            nanos += fraction;
        }
        if (hour > 23 || minute > 59 || second > 59) {
            return null;
        }
        Integer offsetSeconds = offsetSeconds(s, at);
        if (offsetSeconds == null) {
            return null;
        }
        long seconds = date.toEpochDay() * 86_400L + hour * 3_600L + minute * 60L + second - offsetSeconds;
        return seconds * 1_000L + nanos / NANOS_PER_MILLI;
    }

    /** The offset that ends {@code s} at {@code at}, in seconds east of UTC; null if there is none. */
    private static Integer offsetSeconds(String s, int at) {
        if (at >= s.length()) {
            return null;
        }
        char sign = s.charAt(at);
        if (sign == 'Z' || sign == 'z') {
            return at + 1 == s.length() ? 0 : null;
        }
        boolean negative;
        if (sign == '+') {
            negative = false;
        } else if (sign == '-' || sign == '\u2212') {
            negative = true;
        } else {
            return null;
        }
        // Exactly "hh:mm" must follow.
        if (s.length() != at + 6 || s.charAt(at + 3) != ':') {
            return null;
        }
        int hours = digits(s, at + 1, 2);
        int minutes = digits(s, at + 4, 2);
        if (hours < 0 || minutes < 0 || hours > 23 || minutes > 59) {
            return null;
        }
        int seconds = hours * 3_600 + minutes * 60;
        return negative ? -seconds : seconds;
    }

    /** The number written by the {@code count} ASCII digits at {@code from}; -1 if they are not all digits. */
    private static int digits(String s, int from, int count) {
        int value = 0;
        for (int i = from; i < from + count; i++) {
            char c = s.charAt(i);
            if (!isDigit(c)) {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
