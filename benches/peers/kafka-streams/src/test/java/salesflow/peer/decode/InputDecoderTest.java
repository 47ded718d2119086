package salesflow.peer.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.streams.KeyValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import salesflow.peer.model.Order;
import salesflow.peer.model.ProductInfo;
import salesflow.peer.model.Segment;

/** The cases of salesflow's own decoder tests (src/codecs/json.rs), good and bad, on this decoder. */
class InputDecoderTest {
    /** 2026-11-22T10:00:00Z in epoch milliseconds. */
    private static final long T0 = 1_795_341_600_000L;

    @FunctionalInterface
    interface Decode {
        KeyValue<String, ?> apply(byte[] key, byte[] value) throws BadInput;
    }

    private static final Decode ORDERS = InputDecoder::order;
    private static final Decode CUSTOMERS = InputDecoder::customer;
    private static final Decode PRODUCTS = InputDecoder::product;
    private static final Decode RATES = InputDecoder::rate;

    private static byte[] bytes(String text) {
        return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
    }

    private static Order order(long ts, String customer, String product, long quantity, long micros, String currency,
                               boolean live) {
        return new Order(ts, customer, product, quantity, micros, currency, live);
    }

    static Stream<Arguments> goodCases() {
        return Stream.of(
                Arguments.of("full order, string ids, RFC 3339 with Z", ORDERS, "o-1",
                        "{\"order_id\":\"o-1\",\"ts\":\"2026-11-22T10:00:00Z\",\"customer_id\":\"c-1\",\"product_id\":\"p-1\","
                                + "\"quantity\":2,\"price\":19.99,\"currency\":\"EUR\",\"status\":\"paid\",\"payment_method\":\"card\",\"ip\":\"10.0.0.1\"}",
                        KeyValue.pair("o-1", order(T0, "c-1", "p-1", 2, 19_990_000, "EUR", true))),
                Arguments.of("integer ids equal string ids, numeric strings, epoch ms, default currency and status", ORDERS, "42",
                        "{\"order_id\":42,\"ts\":1795341600000,\"customer_id\":7,\"product_id\":\"9\",\"quantity\":\"3\",\"price\":\"0.5\"}",
                        KeyValue.pair("42", order(T0, "7", "9", 3, 500_000, "USD", true))),
                Arguments.of("a JSON-string key is the bare id", ORDERS, "\"o-1\"",
                        "{\"order_id\":\"o-1\",\"ts\":0,\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":1,\"price\":0}",
                        KeyValue.pair("o-1", order(0, "c", "p", 1, 0, "USD", true))),
                Arguments.of("camelCase aliases, RFC 3339 with +02:00", ORDERS, "o-2",
                        "{\"orderId\":\"o-2\",\"ts\":\"2026-11-22T12:00:00+02:00\",\"customerId\":\"c-1\",\"productId\":\"p-1\","
                                + "\"quantity\":1,\"unitPrice\":\"100\",\"paymentMethod\":\"paypal\"}",
                        KeyValue.pair("o-2", order(T0, "c-1", "p-1", 1, 100_000_000, "USD", true))),
                Arguments.of("epoch ms as a numeric string, lower-case currency, unknown status kept", ORDERS, "o-3",
                        "{\"ts\":\"1795341600000\",\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":1,\"price\":1.000000,"
                                + "\"currency\":\"eur\",\"status\":\"On-Hold\"}",
                        KeyValue.pair("o-3", order(T0, "c", "p", 1, 1_000_000, "EUR", true))),
                Arguments.of("unknown fields ignored, nulls and empty strings are missing", ORDERS, "o-4",
                        "{\"ts\":0,\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":1,\"price\":2,\"currency\":null,"
                                + "\"status\":null,\"payment_method\":\"\",\"ip\":null,\"extra\":{\"nested\":[1,2.5,\"x\"]},\"coupon\":true}",
                        KeyValue.pair("o-4", order(0, "c", "p", 1, 2_000_000, "USD", true))),
                Arguments.of("no key: the id comes from the value", ORDERS, null,
                        "{\"order_id\":\"o-5\",\"ts\":0,\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":1,\"price\":1}",
                        KeyValue.pair("o-5", order(0, "c", "p", 1, 1_000_000, "USD", true))),
                Arguments.of("integral decimals are integers, exponents exact, sub-ms ts truncated", ORDERS, "o-6",
                        "{\"ts\":\"2026-11-22T10:00:00.0009Z\",\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":2.0,"
                                + "\"price\":1.5e1,\"status\":\"CANCELLED\"}",
                        KeyValue.pair("o-6", order(T0, "c", "p", 2, 15_000_000, "USD", false))),
                Arguments.of("id with a JSON escape", ORDERS, null,
                        "{\"order_id\":\"o\\u002d7\",\"ts\":0,\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":1,\"price\":1}",
                        KeyValue.pair("o-7", order(0, "c", "p", 1, 1_000_000, "USD", true))),
                Arguments.of("id field missing while the key is given", ORDERS, "  o-8 ",
                        "{\"ts\":0,\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":1,\"price\":1}",
                        KeyValue.pair("o-8", order(0, "c", "p", 1, 1_000_000, "USD", true))),
                Arguments.of("returned in any case is not live", ORDERS, "o-9",
                        "{\"ts\":0,\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":1,\"price\":1,\"status\":\"ReTuRnEd\"}",
                        KeyValue.pair("o-9", order(0, "c", "p", 1, 1_000_000, "USD", false))),
                Arguments.of("order tombstone", ORDERS, "o-1", null, KeyValue.pair("o-1", null)),
                Arguments.of("an empty value is a tombstone; JSON-integer key", ORDERS, "42", "", KeyValue.pair("42", null)),
                Arguments.of("customer with every field", CUSTOMERS, "c-1",
                        "{\"customer_id\":\"c-1\",\"gender\":\"F\",\"age\":\"34\",\"country\":\"DE\",\"name\":\"Ada\",\"email\":\"a@x\"}",
                        KeyValue.pair("c-1", new Segment("F", "25-34"))),
                Arguments.of("customer without key, integer id, optionals missing", CUSTOMERS, null,
                        "{\"customerId\":7,\"age\":null,\"unknown\":1}", KeyValue.pair("7", Segment.UNKNOWN)),
                Arguments.of("customer tombstone", CUSTOMERS, "c-1", null, KeyValue.pair("c-1", null)),
                Arguments.of("product with unitPrice", PRODUCTS, "p-1",
                        "{\"productId\":\"p-1\",\"name\":\"Mug\",\"category\":\"Kitchen\",\"brand\":\"\",\"unitPrice\":\"4.25\"}",
                        KeyValue.pair("p-1", new ProductInfo("Mug", "Kitchen"))),
                Arguments.of("product without price", PRODUCTS, null, "{\"product_id\":12}",
                        KeyValue.pair("12", ProductInfo.UNKNOWN)),
                Arguments.of("product tombstone", PRODUCTS, "p-1", null, KeyValue.pair("p-1", null)),
                Arguments.of("fx rate as a string", RATES, "EUR", "{\"currency\":\"EUR\",\"rate\":\"1.0842\"}",
                        KeyValue.pair("EUR", 10_842_000_000L)),
                Arguments.of("fx currency compared after case normalisation; rate as a number", RATES, "gbp",
                        "{\"currency\":\"GBP\",\"rate\":1.2512345678}", KeyValue.pair("GBP", 12_512_345_678L)),
                Arguments.of("fx rate without key", RATES, null, "{\"currency\":\"jpy\",\"rate\":\"0.0067\"}",
                        KeyValue.pair("JPY", 67_000_000L)),
                Arguments.of("fx tombstone with a JSON-string key", RATES, "\"eur\"", null, KeyValue.pair("EUR", null)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goodCases")
    void goodRecordsDecodeExactly(String what, Decode decode, String key, String value, KeyValue<String, ?> expected)
            throws BadInput {
        assertEquals(expected, decode.apply(bytes(key), bytes(value)), what);
    }

    @Test
    void aRateOfTheBaseCurrencyIsGoodButChangesNothing() throws BadInput {
        assertNull(InputDecoder.rate(bytes("USD"), bytes("{\"currency\":\"usd\",\"rate\":\"2\"}")));
        assertNull(InputDecoder.rate(bytes("USD"), null));
    }

    /** A valid order value without order_id, with {@code name} set to the raw JSON {@code value}. */
    private static String with(String name, String value) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("ts", "0");
        fields.put("customer_id", "\"c\"");
        fields.put("product_id", "\"p\"");
        fields.put("quantity", "1");
        fields.put("price", "1");
        fields.put(name, value);
        return fields.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{", "}"));
    }

    private static String orderWithout(String field) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("order_id", "\"o-1\"");
        fields.put("ts", "0");
        fields.put("customer_id", "\"c\"");
        fields.put("product_id", "\"p\"");
        fields.put("quantity", "1");
        fields.put("price", "1");
        fields.remove(field);
        return fields.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{", "}"));
    }

    static Stream<Arguments> badCases() {
        byte[] o1 = bytes("o-1");
        List<Arguments> cases = new ArrayList<>(List.of(
                Arguments.of("not JSON", ORDERS, o1, bytes("{nope")),
                Arguments.of("array value", ORDERS, o1, bytes("[1,2]")),
                Arguments.of("JSON null value", ORDERS, o1, bytes("null")),
                Arguments.of("trailing garbage", ORDERS, o1, bytes("{} x")),
                Arguments.of("two objects", ORDERS, o1, bytes(with("ip", "\"1\"") + " {}")),
                Arguments.of("a byte order mark", ORDERS, o1, bytes("\uFEFF" + with("order_id", "\"o-1\""))),
                Arguments.of("a blank value", ORDERS, o1, bytes("  ")),
                Arguments.of("invalid UTF-8 in value", ORDERS, o1, new byte[] {'{', '"', 't', 's', '"', ':', '"', (byte) 0xFF, '"', '}'}),
                Arguments.of("invalid UTF-8 in key", ORDERS, new byte[] {'o', '-', (byte) 0xC3}, bytes(with("order_id", "\"o-1\""))),
                Arguments.of("too large", ORDERS, null, bytes(" ".repeat((1 << 20) + 1))),
                Arguments.of("quantity 0", ORDERS, o1, bytes(with("quantity", "0"))),
                Arguments.of("quantity 2.5", ORDERS, o1, bytes(with("quantity", "2.5"))),
                Arguments.of("quantity \"2.5\"", ORDERS, o1, bytes(with("quantity", "\"2.5\""))),
                Arguments.of("quantity true", ORDERS, o1, bytes(with("quantity", "true"))),
                Arguments.of("negative price", ORDERS, o1, bytes(with("price", "-0.01"))),
                Arguments.of("price with 7 decimals", ORDERS, o1, bytes(with("price", "\"1.0000001\""))),
                Arguments.of("price not a number", ORDERS, o1, bytes(with("price", "\"1,50\""))),
                Arguments.of("price beyond i64", ORDERS, o1, bytes(with("price", "1e300"))),
                Arguments.of("price given twice", ORDERS, o1, bytes(with("unitPrice", "2"))),
                Arguments.of("bad ts", ORDERS, o1, bytes(with("ts", "\"yesterday\""))),
                Arguments.of("ts without offset", ORDERS, o1, bytes(with("ts", "\"2026-11-22T10:00:00\""))),
                Arguments.of("fractional epoch ms", ORDERS, o1, bytes(with("ts", "1.5"))),
                Arguments.of("order key mismatch", ORDERS, o1, bytes(with("order_id", "\"o-2\""))),
                Arguments.of("a camelCase mismatch", ORDERS, o1, bytes(with("orderId", "2"))),
                Arguments.of("float id", ORDERS, o1, bytes(with("customer_id", "4.5"))),
                Arguments.of("object id", ORDERS, o1, bytes(with("product_id", "{\"id\":1}"))),
                Arguments.of("empty id", ORDERS, o1, bytes(with("customer_id", "\"\""))),
                Arguments.of("no key and no id", ORDERS, null, bytes(with("ip", "\"1.2.3.4\""))),
                Arguments.of("bad currency", ORDERS, o1, bytes(with("currency", "\"EURO\""))),
                Arguments.of("empty currency", ORDERS, o1, bytes(with("currency", "\"\""))),
                Arguments.of("a number for a string field", ORDERS, o1, bytes(with("ip", "10"))),
                Arguments.of("a status that is not a string", ORDERS, o1, bytes(with("status", "1"))),
                Arguments.of("a lone surrogate in a known string", ORDERS, o1, bytes(with("ip", "\"\\ud800\""))),
                Arguments.of("a lone surrogate in a field name", ORDERS, o1, bytes(with("x\\udc00", "1"))),
                Arguments.of("tombstone without key", ORDERS, null, null),
                Arguments.of("tombstone with an empty key", CUSTOMERS, bytes(""), bytes("")),
                Arguments.of("fractional age", CUSTOMERS, bytes("c"), bytes("{\"age\":33.5}")),
                Arguments.of("country as a number", CUSTOMERS, bytes("c"), bytes("{\"country\":49}")),
                Arguments.of("customer key mismatch", CUSTOMERS, bytes("1"), bytes("{\"customerId\":2}")),
                Arguments.of("product negative price", PRODUCTS, bytes("p"), bytes("{\"price\":\"-1\"}")),
                Arguments.of("rate 0", RATES, bytes("EUR"), bytes("{\"currency\":\"EUR\",\"rate\":\"0\"}")),
                Arguments.of("rate missing", RATES, bytes("EUR"), bytes("{\"currency\":\"EUR\"}")),
                Arguments.of("rate with 11 decimals", RATES, bytes("EUR"), bytes("{\"rate\":\"1.00000000001\"}")),
                Arguments.of("fx key mismatch", RATES, bytes("EUR"), bytes("{\"currency\":\"GBP\",\"rate\":\"1.2\"}")),
                Arguments.of("fx key not a currency", RATES, bytes("EURO"), bytes("{\"rate\":\"1.2\"}")),
                Arguments.of("fx tombstone keyed by a non-currency", RATES, bytes("12"), null),
                Arguments.of("fx with no key and no currency", RATES, null, bytes("{\"rate\":\"1.2\"}"))));
        for (String field : List.of("ts", "customer_id", "product_id", "quantity", "price")) {
            cases.add(Arguments.of(field + " missing", ORDERS, o1, bytes(orderWithout(field))));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badCases")
    void badRecordsAreRefused(String what, Decode decode, byte[] key, byte[] value) {
        assertThrows(BadInput.class, () -> decode.apply(key, value), what);
    }

    @Test
    void noLimitsBeyondSalesflowsOwn() throws BadInput {
        // serde_json skips unknown values of any depth, number length or string length.
        String deep = "[".repeat(5_000) + "]".repeat(5_000);
        String value = "{\"order_id\":\"o-1\",\"ts\":0,\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":1,"
                + "\"price\":\"1\",\"deep\":" + deep + ",\"long\":" + "9".repeat(5_000) + ",\"text\":\""
                + "x".repeat(100_000) + "\"}";
        assertEquals("o-1", InputDecoder.order(null, bytes(value)).key);
    }

    @Test
    void theSizeLimitCountsKeyAndValue() throws BadInput {
        byte[] key = bytes("o-1");
        String fields = "{\"ts\":0,\"customer_id\":\"c\",\"product_id\":\"p\",\"quantity\":1,\"price\":1";
        String atLimit = fields + " ".repeat(InputDecoder.MAX_RECORD_BYTES - key.length - fields.length() - 1) + "}";
        assertEquals("o-1", InputDecoder.order(key, bytes(atLimit)).key);
        assertThrows(BadInput.class, () -> InputDecoder.order(key, bytes(atLimit + " ")));
    }
}
