package salesflow.peer.decode;

/**
 * String helpers that behave exactly like the Rust standard library calls the salesflow decoder
 * makes, where Java's nearest equivalents differ: {@code str::trim} trims Unicode White_Space
 * (Java's {@code trim} trims control characters, {@code strip} misses U+00A0 and others), and
 * {@code to_ascii_lowercase} leaves non-ASCII letters alone.
 */
public final class RustText {
    private RustText() {}

    /** Unicode White_Space, as Rust's {@code char::is_whitespace}; every such code point is in the BMP. */
    static boolean isWhitespace(char c) {
        if (c <= 0x20) {
            return c == ' ' || (c >= 0x09 && c <= 0x0D);
        }
        if (c < 0x85) {
            return false;
        }
        return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A)
                || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
    }

    /** {@code str::trim}. */
    public static String trim(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && isWhitespace(text.charAt(start))) {
            start++;
        }
        while (end > start && isWhitespace(text.charAt(end - 1))) {
            end--;
        }
        return start == 0 && end == text.length() ? text : text.substring(start, end);
    }

    /** {@code str::to_ascii_lowercase}. */
    public static String asciiLowercase(String text) {
        char[] out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                if (out == null) {
                    out = text.toCharArray();
                }
                out[i] = (char) (c + ('a' - 'A'));
            }
        }
        return out == null ? text : new String(out);
    }

    /** {@code str::eq_ignore_ascii_case}. */
    public static boolean equalsIgnoreAsciiCase(String a, String b) {
        return a.length() == b.length() && asciiLowercase(a).equals(asciiLowercase(b));
    }

    /**
     * Whether a decoded JSON string holds an unpaired surrogate. serde_json refuses such a string
     * (a lone high-surrogate escape) wherever it decodes one, while Jackson accepts it.
     */
    static boolean hasLoneSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else {
                    return true;
                }
            } else if (Character.isLowSurrogate(c)) {
                return true;
            }
        }
        return false;
    }
}
