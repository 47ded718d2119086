package salesflow.peer.output;

import salesflow.peer.model.Figures;
import salesflow.peer.model.Money;
import salesflow.peer.model.ProductFigures;

/**
 * Output rows (the values of the upsert envelope), field for field as salesflow writes them
 * (src/codecs/rows.rs): the key fields, then the figures; money rounded to cents half away from
 * zero and written as a JSON number with two decimals; averages rounded once from the exact sums.
 */
public final class Rows {
    private Rows() {}

    /** A {@code sales_*} row: the fields of {@code key} (a group key object), then the figures. */
    public static String sales(String key, Figures figures) {
        StringBuilder out = withKeyFields(key);
        return figures(out, figures).append('}').toString();
    }

    /** A {@code top_products_*} row. */
    public static String topProduct(String key, int rank, ProductFigures candidate) {
        StringBuilder out = withKeyFields(key).append(",\"rank\":").append(rank).append(",\"name\":");
        String name = candidate.product().name();
        if (name == null) {
            out.append("null");
        } else {
            Json.string(out, name);
        }
        out.append(",\"category\":");
        Json.string(out, candidate.product().category());
        return figures(out, candidate.figures()).append('}').toString();
    }

    /** The key object without its closing brace: the row goes on from there. */
    private static StringBuilder withKeyFields(String key) {
        return new StringBuilder(key.length() + 120).append(key, 0, key.length() - 1);
    }

    /** Averages of a group with no units or orders are JSON null (appending a null String writes {@code null}). */
    private static StringBuilder figures(StringBuilder out, Figures figures) {
        return out.append(",\"orders\":").append(figures.orders())
                .append(",\"units\":").append(figures.units())
                .append(",\"revenue\":").append(Money.cents(figures.revenue()))
                .append(",\"avg_unit_price\":").append(Money.centsPer(figures.revenue(), figures.units()))
                .append(",\"avg_order_value\":").append(Money.centsPer(figures.revenue(), figures.orders()));
    }
}
