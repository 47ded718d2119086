package salesflow.peer.model;

import java.math.BigDecimal;

/** The sales figures of a group of live orders: their count, units and exact revenue. */
public record Figures(long orders, long units, BigDecimal revenue) {
    public static final Figures NONE = new Figures(0, 0, Money.ZERO);

    public Figures plus(Figures other) {
        return new Figures(orders + other.orders, units + other.units, revenue.add(other.revenue));
    }

    public Figures minus(Figures other) {
        return new Figures(orders - other.orders, units - other.units, revenue.subtract(other.revenue));
    }

    /** A group with no order left no longer exists. */
    public boolean isEmpty() {
        return orders == 0;
    }
}
