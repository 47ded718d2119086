package salesflow.peer.decode;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.util.Arrays;

/**
 * Reads a record value, which must be exactly one JSON object, into one {@link Field} per known
 * field name, with Jackson's streaming parser (numbers keep their exact text; unknown fields are
 * skipped without being built). It accepts exactly the JSON that salesflow's serde_json scan
 * accepts: no size, depth or number-length limits of Jackson's own, no byte order mark, no
 * unpaired surrogate in a field name or known string, and a known field given twice (under its
 * name or alias) is bad rather than a guess which value wins.
 */
final class JsonObjects {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(Integer.MAX_VALUE)
                    .maxNumberLength(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE)
                    .maxNameLength(Integer.MAX_VALUE)
                    .build())
            .build();

    private JsonObjects() {}

    /** Parses a JSON string that is the whole of {@code text}; null if it is anything else. */
    static String wholeString(String text) {
        try (JsonParser parser = FACTORY.createParser(text)) {
            if (parser.nextToken() != JsonToken.VALUE_STRING) {
                return null;
            }
            String value = parser.getText();
            return parser.nextToken() == null && !RustText.hasLoneSurrogate(value) ? value : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The known fields of {@code value} (valid UTF-8), absent ones as {@link Field#ABSENT}. */
    static Field[] scan(byte[] value, FieldNames names) throws BadInput {
        rejectWhatJacksonWouldGuess(value);
        Field[] fields = new Field[names.count()];
        Arrays.fill(fields, Field.ABSENT);
        try (JsonParser parser = FACTORY.createParser(value)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new BadInput("value is not a JSON object");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                if (RustText.hasLoneSurrogate(name)) {
                    throw new BadInput("a field name holds an unpaired surrogate");
                }
                int slot = names.slotOf(name);
                JsonToken token = parser.nextToken();
                if (slot < 0) {
                    parser.skipChildren();
                    continue;
                }
                Field field = field(parser, token);
                if (field.isAbsent()) {
                    continue;
                }
                if (!fields[slot].isAbsent()) {
                    throw new BadInput("field " + name + " is given twice");
                }
                fields[slot] = field;
            }
            // The object is closed (the parser checks that); nothing may follow it.
            if (parser.nextToken() != null) {
                throw new BadInput("value is not a JSON object");
            }
        } catch (IOException e) {
            throw new BadInput("value is not a JSON object: " + e.getMessage());
        }
        return fields;
    }

    private static Field field(JsonParser parser, JsonToken token) throws IOException, BadInput {
        switch (token) {
            case VALUE_NULL:
                return Field.ABSENT;
            case VALUE_STRING:
                String text = parser.getText();
                if (RustText.hasLoneSurrogate(text)) {
                    throw new BadInput("a string holds an unpaired surrogate");
                }
                return new Field(Field.Kind.STRING, text);
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT:
                return new Field(Field.Kind.NUMBER, parser.getText());
            default:
                parser.skipChildren();
                return new Field(Field.Kind.OTHER, null);
        }
    }

    /**
     * Jackson skips a UTF-8 byte order mark and guesses UTF-16 or UTF-32 from zero bytes at the
     * start; serde_json does neither (and no JSON text holds a zero byte), so such values are bad.
     */
    private static void rejectWhatJacksonWouldGuess(byte[] value) throws BadInput {
        if (value.length >= 3 && (value[0] & 0xFF) == 0xEF && (value[1] & 0xFF) == 0xBB && (value[2] & 0xFF) == 0xBF) {
            throw new BadInput("value starts with a byte order mark");
        }
        for (int i = 0; i < Math.min(4, value.length); i++) {
            if (value[i] == 0) {
                throw new BadInput("value holds a zero byte");
            }
        }
    }
}
