package salesflow.peer.model;

import java.math.BigDecimal;

/**
 * A live order on its way through the joins: its own figures, then its customer's segment, its
 * product's category and finally its value in the base currency ({@code revenue}).
 *
 * @param day the UTC day of the order's {@code ts}, as days since the epoch
 * @param category null until the product join
 * @param revenue null until the rate join; zero for an order whose currency has no rate yet
 */
public record Sale(String customerId, String productId, long day, long quantity, long priceMicros,
                   String currency, Segment segment, String category, BigDecimal revenue) {

    private static final long MILLIS_PER_DAY = 86_400_000L;

    /** An order joined with its customer's segment; {@code segment} is null when the customer is unknown. */
    public static Sale of(Order order, Segment segment) {
        return new Sale(order.customerId(), order.productId(), Math.floorDiv(order.ts(), MILLIS_PER_DAY),
                order.quantity(), order.priceMicros(), order.currency(),
                segment == null ? Segment.UNKNOWN : segment, null, null);
    }

    /** Joined with its product; {@code product} is null when the product is unknown. */
    public Sale withProduct(ProductInfo product) {
        String label = (product == null ? ProductInfo.UNKNOWN : product).category();
        return new Sale(customerId, productId, day, quantity, priceMicros, currency, segment, label, null);
    }

    /**
     * The currency whose rate this sale needs, or null for the base currency, whose rate is always
     * 1: those sales need no rate record (a left join with a null foreign key).
     */
    public String foreignCurrency() {
        return Money.BASE_CURRENCY.equals(currency) ? null : currency;
    }

    /** Priced with {@code rate} (10^-10 units); with no rate yet, a foreign sale is worth nothing. */
    public Sale priced(Long rate) {
        BigDecimal value;
        if (foreignCurrency() == null) {
            value = Money.value(quantity, priceMicros, Money.ONE);
        } else if (rate == null) {
            value = Money.ZERO;
        } else {
            value = Money.value(quantity, priceMicros, rate);
        }
        return new Sale(customerId, productId, day, quantity, priceMicros, currency, segment, category, value);
    }

    /** This sale's contribution to a group's figures. */
    public Figures figures() {
        return new Figures(1, quantity, revenue);
    }
}
