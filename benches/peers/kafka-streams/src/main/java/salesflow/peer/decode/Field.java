package salesflow.peer.decode;

/**
 * One known field of a decoded value, with the coercions of SPEC §1 as salesflow implements them
 * (src/codecs/json.rs, {@code impl Field}). Every coercion returns null when the field is absent
 * (JSON null is absent too) and throws {@link BadInput} when it is present with a value it does
 * not accept: a wrong type makes even an optional field bad.
 */
final class Field {
    enum Kind { ABSENT, STRING, NUMBER, OTHER }

    static final Field ABSENT = new Field(Kind.ABSENT, null);

    private final Kind kind;
    /** The decoded string, or a number's literal text exactly as sent. */
    private final String text;

    Field(Kind kind, String text) {
        this.kind = kind;
        this.text = text;
    }

    boolean isAbsent() {
        return kind == Kind.ABSENT;
    }

    /** An id: a JSON string (not blank) or integer literal, as text, so {@code 42} and {@code "42"} are one id. */
    String id() throws BadInput {
        switch (kind) {
            case ABSENT:
                return null;
            case STRING:
                if (RustText.trim(text).isEmpty()) {
                    throw new BadInput("empty id");
                }
                return text;
            case NUMBER:
                if (isIntegerLiteral(text)) {
                    return text;
                }
                throw new BadInput("id is not an integer");
            default:
                throw new BadInput("id is not a string or an integer");
        }
    }

    /** Optional free text; an empty string is absent. */
    String string() throws BadInput {
        switch (kind) {
            case ABSENT:
                return null;
            case STRING:
                return text.isEmpty() ? null : text;
            default:
                throw new BadInput("not a string");
        }
    }

    /** A currency code (three ASCII letters, any case, upper-cased). An empty code is bad, not absent. */
    String currency() throws BadInput {
        switch (kind) {
            case ABSENT:
                return null;
            case STRING:
                String code = Currencies.parse(text);
                if (code == null) {
                    throw new BadInput("not a currency code");
                }
                return code;
            default:
                throw new BadInput("currency is not a string");
        }
    }

    /** An integer: {@code 2}, {@code "2"}, or any exact number without a fraction ({@code 2.0}, {@code 2e3}). */
    Long integer() throws BadInput {
        String number = numericText();
        return number == null ? null : FixedPoint.parse(RustText.trim(number), 0);
    }

    /** An exact decimal with at most {@code scale} places, in 10^-scale units. */
    Long decimal(int scale) throws BadInput {
        String number = numericText();
        return number == null ? null : FixedPoint.parse(RustText.trim(number), scale);
    }

    /** An instant: RFC 3339 with an offset, or integer epoch milliseconds (number or numeric string). */
    Long time() throws BadInput {
        switch (kind) {
            case ABSENT:
                return null;
            case NUMBER:
                return FixedPoint.parse(RustText.trim(text), 0);
            case STRING:
                String trimmed = RustText.trim(text);
                Long millis = Rfc3339.epochMillis(trimmed);
                return millis != null ? millis : FixedPoint.parse(trimmed, 0);
            default:
                throw new BadInput("time is not a string or number");
        }
    }

    private String numericText() throws BadInput {
        switch (kind) {
            case ABSENT:
                return null;
            case NUMBER:
            case STRING:
                return text;
            default:
                throw new BadInput("not a number");
        }
    }

    /** A JSON integer literal ({@code 42}, {@code -7}); {@code 4.2e1} is a float to JSON, not an id. */
    private static boolean isIntegerLiteral(String text) {
        int start = text.startsWith("-") ? 1 : 0;
        if (start == text.length()) {
            return false;
        }
        for (int i = start; i < text.length(); i++) {
            if (text.charAt(i) < '0' || text.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }
}
