package salesflow.peer.model;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Exact money. Prices have at most 6 decimal places and rates at most 10, so a converted amount
 * (quantity x price x rate) has at most 16, and every sum is kept at exactly that scale: exact,
 * and one stored shape per amount.
 */
public final class Money {
    private Money() {}

    public static final String BASE_CURRENCY = "USD";
    public static final int PRICE_SCALE = 6;
    public static final int RATE_SCALE = 10;
    public static final int SCALE = PRICE_SCALE + RATE_SCALE;
    public static final BigDecimal ZERO = BigDecimal.ZERO.setScale(SCALE);

    /** quantity x price x rate, in the base currency; {@code rate} in 10^-10 units. */
    public static BigDecimal value(long quantity, long priceMicros, long rate) {
        return BigDecimal.valueOf(quantity)
                .multiply(BigDecimal.valueOf(priceMicros, PRICE_SCALE))
                .multiply(BigDecimal.valueOf(rate, RATE_SCALE));
    }

    /** The base currency's own rate, 1, in 10^-10 units. */
    public static final long ONE = 10_000_000_000L;

    /** Rounded to cents, half away from zero ({@link RoundingMode#HALF_UP} works on the magnitude). */
    public static String cents(BigDecimal amount) {
        return amount.setScale(2, RoundingMode.HALF_UP).toPlainString();
    }

    /** {@code amount / count} rounded once to cents, half away from zero; null when count is 0. */
    public static String centsPer(BigDecimal amount, long count) {
        if (count == 0) {
            return null;
        }
        return amount.divide(BigDecimal.valueOf(count), 2, RoundingMode.HALF_UP).toPlainString();
    }
}
