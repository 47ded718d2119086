package salesflow.peer.decode;

/** ISO 4217-shaped currency codes, as salesflow's {@code Currency::parse}. */
public final class Currencies {
    private Currencies() {}

    /** Three ASCII letters in any case after trimming, upper-cased; null for anything else. */
    public static String parse(String text) {
        String code = RustText.trim(text);
        if (code.length() != 3) {
            return null;
        }
        char[] upper = new char[3];
        for (int i = 0; i < 3; i++) {
            char c = code.charAt(i);
            if (c >= 'a' && c <= 'z') {
                upper[i] = (char) (c - ('a' - 'A'));
            } else if (c >= 'A' && c <= 'Z') {
                upper[i] = c;
            } else {
                return null;
            }
        }
        return new String(upper);
    }
}
