package salesflow.peer.decode;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.streams.KeyValue;
import salesflow.peer.model.Money;
import salesflow.peer.model.Order;
import salesflow.peer.model.ProductInfo;
import salesflow.peer.model.Segment;

/**
 * Decodes input records (key bytes, value bytes) into the change they ask for: the record's id and
 * its new value, or a null value to delete it. The rules are salesflow's (SPEC §1-2, README
 * "Inputs", src/codecs/json.rs), so both jobs apply and skip exactly the same records: a record
 * over 1 MiB, invalid UTF-8, a tombstone without a key, a value that is not one JSON object, an id
 * that disagrees with the key, a required field missing, or any field present with a value it
 * does not accept throws {@link BadInput}.
 */
public final class InputDecoder {
    private InputDecoder() {}

    /** salesflow's default {@code --max-record-bytes}: key and value together. */
    static final int MAX_RECORD_BYTES = 1 << 20;

    private static final FieldNames ORDER_FIELDS = new FieldNames("order_id|orderId", "ts",
            "customer_id|customerId", "product_id|productId", "quantity", "price|unitPrice", "currency",
            "status", "payment_method|paymentMethod", "ip");
    private static final FieldNames CUSTOMER_FIELDS = new FieldNames("customer_id|customerId", "gender", "age",
            "country", "name", "email");
    private static final FieldNames PRODUCT_FIELDS = new FieldNames("product_id|productId", "name", "category",
            "brand", "price|unitPrice");
    private static final FieldNames RATE_FIELDS = new FieldNames("currency", "rate");

    public static KeyValue<String, Order> order(byte[] keyBytes, byte[] value) throws BadInput {
        String key = keyText(keyBytes, value);
        if (isTombstone(value)) {
            return KeyValue.pair(requireKey(key), null);
        }
        Field[] f = JsonObjects.scan(value, ORDER_FIELDS);
        String id = resolveId(f[0], key);
        long ts = required(f[1].time());
        String customerId = required(f[2].id());
        String productId = required(f[3].id());
        long quantity = required(f[4].integer());
        if (quantity < 1) {
            throw new BadInput("quantity must be at least 1");
        }
        long price = nonNegative(required(f[5].decimal(Money.PRICE_SCALE)));
        String currency = f[6].currency();
        String status = f[7].string();
        f[8].string(); // payment_method and ip are not analysed here, but a wrong type makes the record bad
        f[9].string();
        Order order = new Order(ts, customerId, productId, quantity, price,
                currency == null ? Money.BASE_CURRENCY : currency, isLive(status));
        return KeyValue.pair(id, order);
    }

    public static KeyValue<String, Segment> customer(byte[] keyBytes, byte[] value) throws BadInput {
        String key = keyText(keyBytes, value);
        if (isTombstone(value)) {
            return KeyValue.pair(requireKey(key), null);
        }
        Field[] f = JsonObjects.scan(value, CUSTOMER_FIELDS);
        String id = resolveId(f[0], key);
        String gender = f[1].string();
        Long age = f[2].integer();
        for (int i = 3; i < f.length; i++) {
            f[i].string(); // country, name, email: checked, not analysed here
        }
        return KeyValue.pair(id, Segment.of(gender, age));
    }

    public static KeyValue<String, ProductInfo> product(byte[] keyBytes, byte[] value) throws BadInput {
        String key = keyText(keyBytes, value);
        if (isTombstone(value)) {
            return KeyValue.pair(requireKey(key), null);
        }
        Field[] f = JsonObjects.scan(value, PRODUCT_FIELDS);
        String id = resolveId(f[0], key);
        String name = f[1].string();
        String category = f[2].string();
        f[3].string();
        Long price = f[4].decimal(Money.PRICE_SCALE);
        if (price != null) {
            nonNegative(price);
        }
        return KeyValue.pair(id, ProductInfo.of(name, category));
    }

    /**
     * A rate: currency code and how many 10^-10 units of the base currency one unit is worth
     * (null to delete it). Null for a record of the base currency, whose rate is always 1: such a
     * record is good input but changes nothing.
     */
    public static KeyValue<String, Long> rate(byte[] keyBytes, byte[] value) throws BadInput {
        String keyText = keyText(keyBytes, value);
        String key = keyText == null ? null : Currencies.parse(keyText);
        if (keyText != null && key == null) {
            throw new BadInput("key is not a currency code");
        }
        KeyValue<String, Long> change;
        if (isTombstone(value)) {
            change = KeyValue.pair(requireKey(key), null);
        } else {
            Field[] f = JsonObjects.scan(value, RATE_FIELDS);
            String given = f[0].currency();
            if (key != null && given != null && !key.equals(given)) {
                throw new BadInput("currency does not match the key");
            }
            String currency = key != null ? key : required(given);
            long rate = required(f[1].decimal(Money.RATE_SCALE));
            if (rate <= 0) {
                throw new BadInput("rate must be greater than 0");
            }
            change = KeyValue.pair(currency, rate);
        }
        return Money.BASE_CURRENCY.equals(change.key) ? null : change;
    }

    /** Known statuses match in any ASCII case; cancelled and returned orders are not live. */
    private static boolean isLive(String status) {
        if (status == null) {
            return true;
        }
        String known = RustText.asciiLowercase(status);
        return !known.equals("cancelled") && !known.equals("returned");
    }

    /**
     * The id the key carries, after the size and UTF-8 checks of the whole record: the bare id
     * ({@code o-1}) or the id as a JSON string ({@code "o-1"}), trimmed; null for no key or a
     * blank one, so the id comes from the value.
     */
    private static String keyText(byte[] key, byte[] value) throws BadInput {
        long size = (long) (key == null ? 0 : key.length) + (value == null ? 0 : value.length);
        if (size > MAX_RECORD_BYTES) {
            throw new BadInput("record is over " + MAX_RECORD_BYTES + " bytes");
        }
        String text = key == null ? null : utf8(key);
        if (value != null) {
            checkUtf8(value);
        }
        if (text == null) {
            return null;
        }
        String trimmed = RustText.trim(text);
        String id = trimmed.startsWith("\"") ? JsonObjects.wholeString(trimmed) : null;
        if (id == null) {
            id = trimmed;
        }
        return RustText.trim(id).isEmpty() ? null : id;
    }

    /** Kafka's tombstone is a null value; an empty value carries nothing either, so it deletes too. */
    private static boolean isTombstone(byte[] value) {
        return value == null || value.length == 0;
    }

    private static String requireKey(String key) throws BadInput {
        if (key == null) {
            throw new BadInput("a tombstone needs a key");
        }
        return key;
    }

    /** The key if there is one (a present id field must equal it), otherwise the id field. */
    private static String resolveId(Field field, String key) throws BadInput {
        String given = field.id();
        if (key != null && given != null && !key.equals(given)) {
            throw new BadInput("id does not match the record key");
        }
        return required(key != null ? key : given);
    }

    private static <T> T required(T value) throws BadInput {
        if (value == null) {
            throw new BadInput("a required field is missing");
        }
        return value;
    }

    private static long nonNegative(long value) throws BadInput {
        if (value < 0) {
            throw new BadInput("price must not be negative");
        }
        return value;
    }

    private static String utf8(byte[] bytes) throws BadInput {
        if (isAscii(bytes)) {
            return new String(bytes, StandardCharsets.ISO_8859_1);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new BadInput("not valid UTF-8");
        }
    }

    private static void checkUtf8(byte[] bytes) throws BadInput {
        if (!isAscii(bytes)) {
            utf8(bytes);
        }
    }

    private static boolean isAscii(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return false;
            }
        }
        return true;
    }
}
