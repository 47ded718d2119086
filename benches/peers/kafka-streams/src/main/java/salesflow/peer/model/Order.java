package salesflow.peer.model;

/**
 * The part of an order the sales analyses use. {@code live} is false for {@code cancelled} and
 * {@code returned} orders, which leave every sales figure.
 *
 * @param ts event time, epoch milliseconds
 * @param priceMicros unit price in millionths of the order's currency
 * @param currency upper-case currency code
 */
public record Order(long ts, String customerId, String productId, long quantity, long priceMicros,
                    String currency, boolean live) {}
