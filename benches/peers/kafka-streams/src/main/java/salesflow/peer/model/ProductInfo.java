package salesflow.peer.model;

/**
 * What the analyses show of a product: its name (or null) and its category label.
 *
 * @param category the product's category, or {@code unknown} when it has none
 */
public record ProductInfo(String name, String category) {
    /** An order's product when the product has no record. */
    public static final ProductInfo UNKNOWN = new ProductInfo(null, "unknown");

    public static ProductInfo of(String name, String category) {
        return new ProductInfo(name, category == null ? "unknown" : category);
    }
}
