package salesflow.peer.model;

import salesflow.peer.decode.RustText;

/** A customer's place in {@code sales_by_segment}: gender and age band labels (SPEC §3). */
public record Segment(String gender, String ageBand) {
    /** The segment of an order whose customer has no record. */
    public static final Segment UNKNOWN = new Segment("unknown", "unknown");

    /** The segment of a customer with this {@code gender} text and {@code age}, both optional. */
    public static Segment of(String gender, Long age) {
        return new Segment(genderLabel(gender), ageBand(age));
    }

    /** {@code F} for f/female, {@code M} for m/male (ASCII case ignored, trimmed); other text {@code other}. */
    static String genderLabel(String text) {
        if (text == null) {
            return "unknown";
        }
        String trimmed = RustText.trim(text);
        if (trimmed.isEmpty()) {
            return "unknown";
        }
        if (RustText.equalsIgnoreAsciiCase(trimmed, "f") || RustText.equalsIgnoreAsciiCase(trimmed, "female")) {
            return "F";
        }
        if (RustText.equalsIgnoreAsciiCase(trimmed, "m") || RustText.equalsIgnoreAsciiCase(trimmed, "male")) {
            return "M";
        }
        return "other";
    }

    /** Ages outside 0..=120 are data errors, reported as {@code unknown}. */
    static String ageBand(Long age) {
        if (age == null || age < 0 || age > 120) {
            return "unknown";
        }
        if (age < 18) {
            return "<18";
        }
        if (age >= 65) {
            return "65+";
        }
        String[] bands = {"18-24", "25-34", "35-44", "45-54", "55-64"};
        return bands[(int) ((age - 15) / 10)];
    }
}
