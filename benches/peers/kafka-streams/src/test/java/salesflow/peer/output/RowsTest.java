package salesflow.peer.output;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import salesflow.peer.model.Figures;
import salesflow.peer.model.Money;
import salesflow.peer.model.ProductFigures;
import salesflow.peer.model.ProductInfo;
import salesflow.peer.model.Sale;
import salesflow.peer.model.Segment;

/** Rows exactly as salesflow writes them (src/codecs/rows.rs). */
class RowsTest {
    @Test
    void salesRowsRoundOnceAtTheEnd() {
        // 3 x 19.99 EUR at 1.0842 = 65.019558; per unit 21.673186; per order 65.019558.
        Figures figures = new Figures(1, 3, Money.value(3, 19_990_000, 10_842_000_000L));
        String key = GroupKeys.category(sale("books"));
        assertEquals("{\"category\":\"books\"}", key);
        assertEquals("{\"category\":\"books\",\"orders\":1,\"units\":3,\"revenue\":65.02,\"avg_unit_price\":21.67,"
                + "\"avg_order_value\":65.02}", Rows.sales(key, figures));
    }

    @Test
    void halvesRoundAwayFromZero() {
        Figures figures = new Figures(2, 8, Money.value(1, 5_000, Money.ONE).add(Money.value(1, 5_000, Money.ONE)));
        // revenue 0.01 exactly; per unit 0.00125 -> 0.00; per order 0.005 -> 0.01.
        assertEquals("{\"scope\":\"all\",\"orders\":2,\"units\":8,\"revenue\":0.01,\"avg_unit_price\":0.00,"
                + "\"avg_order_value\":0.01}", Rows.sales(GroupKeys.TOTAL, figures));
    }

    @Test
    void keysAreEscapedLikeSerdeJson() {
        assertEquals("{\"product_id\":\"p\\\"1\\\\\\n\\u001f\u00e9/\"}", GroupKeys.product("p\"1\\\n\u001f\u00e9/"));
    }

    @Test
    void topProductRowsMayHaveNoName() {
        ProductFigures candidate = new ProductFigures(new Figures(1, 2, Money.ZERO), ProductInfo.UNKNOWN);
        assertEquals("{\"product_id\":\"7\",\"rank\":1,\"name\":null,\"category\":\"unknown\",\"orders\":1,\"units\":2,"
                + "\"revenue\":0.00,\"avg_unit_price\":0.00,\"avg_order_value\":0.00}",
                Rows.topProduct(GroupKeys.product("7"), 1, candidate));
    }

    private static Sale sale(String category) {
        return new Sale("c", "p", 0, 1, 0, "USD", Segment.UNKNOWN, category, Money.ZERO);
    }
}
