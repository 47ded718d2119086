package salesflow.peer.topology;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import salesflow.peer.model.ProductFigures;
import salesflow.peer.model.ReadingOrder;
import salesflow.peer.output.GroupKeys;
import salesflow.peer.output.Rows;

/**
 * The ten products with the most units, as a change stream of {@code top_products_by_units} rows.
 *
 * <p>It reads every product's current figures (all products through one partition, so one task
 * sees the whole ranking), keeps them in {@link #CANDIDATES} and ranks them in memory, and keeps
 * the rows it has written in {@link #EMITTED}. Every {@link #EMIT_INTERVAL} it writes what changed
 * since: a row for each product that entered the ten or whose rank or figures changed, and a
 * tombstone for each product that left them. Both stores are changelogged, so under exactly-once
 * the emitted rows and the stores always agree, after a restart too.
 */
final class TopProducts implements Processor<String, ProductFigures, String, String> {
    static final String CANDIDATES = "top-products-candidates";
    static final String EMITTED = "top-products-emitted";
    static final int TOP = 10;
    /** How often the changes are written: many updates of one product leave as one row. */
    static final Duration EMIT_INTERVAL = Duration.ofMillis(200);

    /** Most units first, ties by the smaller product id in reading order. */
    private static final Comparator<Ranked> RANKING = Comparator.comparingLong(Ranked::units).reversed()
            .thenComparing(Ranked::productId, ReadingOrder.INSTANCE);

    private record Ranked(long units, String productId) {}

    private ProcessorContext<String, String> context;
    private KeyValueStore<String, ProductFigures> candidates;
    private KeyValueStore<String, String> emitted;
    private final TreeSet<Ranked> ranking = new TreeSet<>(RANKING);
    private final Map<String, Ranked> rankedByProduct = new HashMap<>();
    private boolean changed;

    @Override
    public void init(ProcessorContext<String, String> context) {
        this.context = context;
        candidates = context.getStateStore(CANDIDATES);
        emitted = context.getStateStore(EMITTED);
        try (KeyValueIterator<String, ProductFigures> all = candidates.all()) {
            all.forEachRemaining(entry -> rank(entry.key, entry.value));
        }
        // A restart may have restored candidates whose changes were not emitted yet.
        changed = true;
        context.schedule(EMIT_INTERVAL, PunctuationType.WALL_CLOCK_TIME, now -> emitChanges());
    }

    @Override
    public void process(Record<String, ProductFigures> record) {
        if (record.value() == null) {
            candidates.delete(record.key());
        } else {
            candidates.put(record.key(), record.value());
        }
        rank(record.key(), record.value());
        changed = true;
    }

    private void rank(String productId, ProductFigures figures) {
        Ranked previous = rankedByProduct.remove(productId);
        if (previous != null) {
            ranking.remove(previous);
        }
        if (figures != null) {
            Ranked current = new Ranked(figures.figures().units(), productId);
            ranking.add(current);
            rankedByProduct.put(productId, current);
        }
    }

    private void emitChanges() {
        if (!changed) {
            return;
        }
        changed = false;
        long now = context.currentSystemTimeMs();
        List<KeyValue<String, String>> rows = new ArrayList<>(TOP);
        Set<String> inTop = new HashSet<>();
        Iterator<Ranked> best = ranking.iterator();
        for (int rank = 1; rank <= TOP && best.hasNext(); rank++) {
            String productId = best.next().productId();
            rows.add(KeyValue.pair(productId,
                    Rows.topProduct(GroupKeys.product(productId), rank, candidates.get(productId))));
            inTop.add(productId);
        }
        List<String> left = new ArrayList<>();
        try (KeyValueIterator<String, String> shown = emitted.all()) {
            shown.forEachRemaining(entry -> {
                if (!inTop.contains(entry.key)) {
                    left.add(entry.key);
                }
            });
        }
        for (String productId : left) {
            emitted.delete(productId);
            context.forward(new Record<>(GroupKeys.product(productId), null, now));
        }
        for (KeyValue<String, String> row : rows) {
            if (!row.value.equals(emitted.get(row.key))) {
                emitted.put(row.key, row.value);
                context.forward(new Record<>(GroupKeys.product(row.key), row.value, now));
            }
        }
    }
}
