package salesflow.peer.model;

/** A product's sales figures with its name and category, a candidate for the top products. */
public record ProductFigures(Figures figures, ProductInfo product) {
    /** {@code product} is null when the product has no record. */
    public static ProductFigures of(Figures figures, ProductInfo product) {
        return new ProductFigures(figures, product == null ? ProductInfo.UNKNOWN : product);
    }
}
