package salesflow.peer.topology;

import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.function.Function;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.TableJoined;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import salesflow.peer.decode.BadInput;
import salesflow.peer.decode.InputDecoder;
import salesflow.peer.model.Figures;
import salesflow.peer.model.Order;
import salesflow.peer.model.ProductFigures;
import salesflow.peer.model.ProductInfo;
import salesflow.peer.model.Sale;
import salesflow.peer.model.Segment;
import salesflow.peer.output.GroupKeys;
import salesflow.peer.output.Rows;
import salesflow.peer.serde.PeerSerdes;

/**
 * The sales analyses as a Kafka Streams topology.
 *
 * <pre>
 * orders, customers, products, fx_rates   each decoded and upserted by id into a KTable
 * live orders ⟕ customers ⟕ products ⟕ fx_rates   foreign-key left joins: one Sale per live order
 * sales → groupBy(group key).aggregate(add, subtract)   one table per sales_* topic; a group with
 *                                                        no order left is deleted (a tombstone)
 * sales → per product ⋈ products → one partition → TopProducts   top_products_by_units
 * </pre>
 *
 * Every table is an upsert of its input and every aggregate subtracts what it added, so late data,
 * corrections and deletes of any input correct every figure exactly.
 */
public final class SalesTopology {
    private static final Logger LOG = LoggerFactory.getLogger(SalesTopology.class);
    private static final Serde<String> STRING = Serdes.String();

    private SalesTopology() {}

    /** The topology, with the topology-level settings of {@code config} (e.g. the DSL store type). */
    public static Topology build(Topics topics, Properties config) {
        StreamsBuilder builder = new StreamsBuilder(new TopologyConfig(new StreamsConfig(config)));
        KTable<String, Order> orders = table(builder, topics.input("orders"), "orders", InputDecoder::order,
                PeerSerdes.ORDER);
        KTable<String, Segment> customers = table(builder, topics.input("customers"), "customers",
                InputDecoder::customer, PeerSerdes.SEGMENT);
        KTable<String, ProductInfo> products = table(builder, topics.input("products"), "products",
                InputDecoder::product, PeerSerdes.PRODUCT_INFO);
        KTable<String, Long> rates = table(builder, topics.input("fx_rates"), "fx-rates", InputDecoder::rate,
                Serdes.Long());

        KTable<String, Sale> sales = orders
                .filter((orderId, order) -> order.live(), Named.as("live-orders"))
                .leftJoin(customers, Order::customerId, Sale::of,
                        TableJoined.as("orders-customers"), materialized("sales-with-segment", PeerSerdes.SALE))
                .leftJoin(products, Sale::productId, Sale::withProduct,
                        TableJoined.as("sales-products"), materialized("sales-with-category", PeerSerdes.SALE))
                .leftJoin(rates, Sale::foreignCurrency, Sale::priced,
                        TableJoined.as("sales-rates"), materialized("sales", PeerSerdes.SALE));

        write(sum(sales, "sales-total", sale -> GroupKeys.TOTAL), topics, "sales_total");
        write(sum(sales, "sales-by-category", GroupKeys::category), topics, "sales_by_category");
        write(sum(sales, "sales-by-segment", GroupKeys::segment), topics, "sales_by_segment");
        write(sum(sales, "sales-by-day", GroupKeys::day), topics, "sales_by_day");
        write(sum(sales, "sales-by-customer", GroupKeys::customer), topics, "sales_by_customer");

        builder.addStateStore(Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(TopProducts.CANDIDATES), STRING, PeerSerdes.PRODUCT_FIGURES)
                .withCachingEnabled());
        builder.addStateStore(Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(TopProducts.EMITTED), STRING, STRING));
        sum(sales, "sales-by-product", Sale::productId)
                .leftJoin(products, ProductFigures::of, Named.as("products-named"))
                .toStream(Named.as("product-changes"))
                // One partition: the ranking must see every product.
                .repartition(Repartitioned.<String, ProductFigures>as("top-products-candidates")
                        .withKeySerde(STRING).withValueSerde(PeerSerdes.PRODUCT_FIGURES).withNumberOfPartitions(1))
                .process(TopProducts::new, Named.as("top-products"), TopProducts.CANDIDATES, TopProducts.EMITTED)
                .to(topics.output("top_products_by_units"),
                        Produced.with(STRING, STRING).withName("top-products-by-units-sink"));
        return builder.build(config);
    }

    /** Decodes one record into the change it asks for; bad input throws. */
    @FunctionalInterface
    private interface Decoder<V> {
        KeyValue<String, V> decode(byte[] key, byte[] value) throws BadInput;
    }

    /**
     * An input topic as a table keyed by id. Not {@code builder.table(topic)}: a record may have no
     * key (the id is in its value) or spell its id differently ({@code 42}, {@code "42"}), so every
     * record is decoded first and re-keyed by its id, which also partitions the table by id as the
     * joins need. Bad records change nothing.
     */
    private static <V> KTable<String, V> table(StreamsBuilder builder, String topic, String name, Decoder<V> decoder,
                                               Serde<V> serde) {
        return builder.stream(topic, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName(name + "-input"))
                .flatMap((key, value) -> decoded(decoder, topic, key, value), Named.as("decode-" + name))
                .toTable(Named.as(name), materialized(name, serde));
    }

    private static <V> List<KeyValue<String, V>> decoded(Decoder<V> decoder, String topic, byte[] key, byte[] value) {
        try {
            KeyValue<String, V> change = decoder.decode(key, value);
            return change == null ? Collections.emptyList() : Collections.singletonList(change);
        } catch (BadInput e) {
            LOG.debug("skipping a bad record of {}: {}", topic, e.getMessage());
            return Collections.emptyList();
        }
    }

    /** The sales figures of every group; a group whose last order leaves is deleted. */
    private static KTable<String, Figures> sum(KTable<String, Sale> sales, String name,
                                               Function<Sale, String> groupKey) {
        return sales
                .groupBy((orderId, sale) -> KeyValue.pair(groupKey.apply(sale), sale.figures()),
                        Grouped.with(name, STRING, PeerSerdes.FIGURES))
                .aggregate(() -> Figures.NONE,
                        (group, figures, total) -> total.plus(figures),
                        (group, figures, total) -> {
                            Figures rest = total.minus(figures);
                            return rest.isEmpty() ? null : rest;
                        },
                        Named.as(name + "-sum"), materialized(name, PeerSerdes.FIGURES));
    }

    /** Writes a sales table as its upsert change stream: the row, or a tombstone when the group is gone. */
    private static void write(KTable<String, Figures> table, Topics topics, String output) {
        table.toStream(Named.as(output + "-changes"))
                .mapValues((key, figures) -> figures == null ? null : Rows.sales(key, figures),
                        Named.as(output + "-rows"))
                .to(topics.output(output), Produced.with(STRING, STRING).withName(output + "-sink"));
    }

    private static <V> Materialized<String, V, KeyValueStore<Bytes, byte[]>> materialized(String name, Serde<V> serde) {
        return Materialized.<String, V, KeyValueStore<Bytes, byte[]>>as(name).withKeySerde(STRING).withValueSerde(serde);
    }
}
