package salesflow.peer.output;

import java.time.LocalDate;
import salesflow.peer.model.Sale;

/**
 * The message keys of the output topics: compact JSON objects of the group's key fields, in the
 * order SPEC §4 lists them. The sales aggregations group by these very strings, so a group's key
 * is written to Kafka as it is.
 */
public final class GroupKeys {
    private GroupKeys() {}

    public static final String TOTAL = "{\"scope\":\"all\"}";

    /** chrono's range, to which salesflow clamps dates beyond it (epoch-ms integers can be absurd). */
    private static final long FIRST_DAY = LocalDate.of(-262144, 1, 1).toEpochDay();
    private static final long LAST_DAY = LocalDate.of(262143, 12, 31).toEpochDay();

    public static String category(Sale sale) {
        return object("category", sale.category());
    }

    public static String segment(Sale sale) {
        StringBuilder out = new StringBuilder(40).append("{\"gender\":");
        Json.string(out, sale.segment().gender());
        out.append(",\"age_band\":");
        Json.string(out, sale.segment().ageBand());
        return out.append('}').toString();
    }

    /** {@code {"day":"2026-11-22"}}: the UTC day, years beyond four digits signed as chrono writes them. */
    public static String day(Sale sale) {
        long day = Math.max(FIRST_DAY, Math.min(LAST_DAY, sale.day()));
        return object("day", LocalDate.ofEpochDay(day).toString());
    }

    public static String customer(Sale sale) {
        return object("customer_id", sale.customerId());
    }

    public static String product(String productId) {
        return object("product_id", productId);
    }

    private static String object(String name, String value) {
        StringBuilder out = new StringBuilder(name.length() + value.length() + 8).append("{\"").append(name).append("\":");
        Json.string(out, value);
        return out.append('}').toString();
    }
}
