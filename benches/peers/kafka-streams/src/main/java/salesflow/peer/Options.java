package salesflow.peer;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import salesflow.peer.topology.Topics;

/** The command line, and the Kafka Streams configuration it makes. */
record Options(String bootstrap, Topics topics, String applicationId, boolean exactlyOnce, int threads,
               String stateDir, long commitIntervalMs, long cacheMaxBytes, int outputPartitions,
               Map<String, String> overrides) {

    static final String USAGE = """
            usage: java -jar salesflow-kafka-streams.jar --bootstrap HOST:PORT --application-id ID
                   [--input-prefix P] [--output-prefix Q] [--eos true|false] [--threads N]
                   [--state-dir DIR] [--commit-interval-ms MS] [--cache-max-bytes BYTES]
                   [--output-partitions N] [--config KEY=VALUE]...

              --bootstrap           Kafka bootstrap servers (required)
              --application-id      Kafka Streams application.id: consumer group and internal topic prefix (required)
              --input-prefix        put before the input topics orders, customers, products, fx_rates
              --output-prefix       put before the output topics sales_total, sales_by_category,
                                    sales_by_segment, sales_by_day, sales_by_customer, top_products_by_units
              --eos                 true (default): exactly_once_v2; false: at_least_once
              --threads             stream threads (default: the number of processors)
              --state-dir           state stores (default: Kafka Streams' own, under java.io.tmpdir)
              --commit-interval-ms  commit (and, with exactly-once, transaction) interval (default 1000)
              --cache-max-bytes     record cache for all stores of the instance (default 67108864, 64 MiB)
              --output-partitions   partitions of output topics created here (default 4, as salesflow)
              --config              any Kafka Streams, consumer or producer property (repeatable); it wins
                                    over the settings above, e.g. --config max.poll.records=2000
            """;

    /** A command line that cannot run; the message says what to change. */
    static final class UsageError extends Exception {
        private static final long serialVersionUID = 1L;

        UsageError(String message) {
            super(message);
        }
    }

    static Options parse(String[] args) throws UsageError {
        String bootstrap = null;
        String applicationId = null;
        String inputPrefix = "";
        String outputPrefix = "";
        boolean exactlyOnce = true;
        int threads = Runtime.getRuntime().availableProcessors();
        String stateDir = Path.of(System.getProperty("java.io.tmpdir"), "kafka-streams").toString();
        long commitIntervalMs = 1_000;
        long cacheMaxBytes = 64L << 20;
        int outputPartitions = 4;
        Map<String, String> overrides = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            String flag = args[i];
            if (flag.equals("--help") || flag.equals("-h")) {
                throw new UsageError("");
            }
            if (i + 1 >= args.length) {
                throw new UsageError(flag + " needs a value");
            }
            String value = args[i + 1];
            switch (flag) {
                case "--bootstrap" -> bootstrap = value;
                case "--application-id" -> applicationId = value;
                case "--input-prefix" -> inputPrefix = value;
                case "--output-prefix" -> outputPrefix = value;
                case "--eos" -> exactlyOnce = bool(flag, value);
                case "--threads" -> threads = (int) positive(flag, value);
                case "--state-dir" -> stateDir = value;
                case "--commit-interval-ms" -> commitIntervalMs = positive(flag, value);
                case "--cache-max-bytes" -> cacheMaxBytes = number(flag, value);
                case "--output-partitions" -> outputPartitions = (int) positive(flag, value);
                case "--config" -> {
                    int equals = value.indexOf('=');
                    if (equals < 1) {
                        throw new UsageError("--config needs KEY=VALUE, not " + value);
                    }
                    overrides.put(value.substring(0, equals), value.substring(equals + 1));
                }
                default -> throw new UsageError("unknown flag " + flag);
            }
        }
        if (bootstrap == null || bootstrap.isBlank()) {
            throw new UsageError("--bootstrap is required (e.g. --bootstrap 127.0.0.1:9092)");
        }
        if (applicationId == null || applicationId.isBlank()) {
            throw new UsageError("--application-id is required (e.g. --application-id salesflow-peer)");
        }
        return new Options(bootstrap, new Topics(inputPrefix, outputPrefix), applicationId, exactlyOnce, threads,
                stateDir, commitIntervalMs, cacheMaxBytes, outputPartitions, Map.copyOf(overrides));
    }

    /**
     * The Kafka Streams configuration. Throughput settings, as one would tune a job like this:
     * <ul>
     * <li>{@code commit.interval.ms} 1000 in both modes: with exactly-once each commit ends a
     * transaction, and the default 100 ms makes small transactions; with at-least-once the default
     * 30 s would hold output back that long. A commit also flushes the caches, so a longer interval
     * folds more updates of one group into one output row.</li>
     * <li>{@code statestore.cache.max.bytes} 64 MiB (default 10 MiB): the caches fold the many
     * updates of a busy group (the total, a popular category or day) into one downstream update
     * per commit, which spares the repartition topics, changelogs and output topics.</li>
     * <li>{@code num.stream.threads}: one per processor by default; the tasks (3 input partitions
     * x sub-topologies) spread over them.</li>
     * <li>{@code max.task.idle.ms} -1: a task that reads several partitions (a join's two sides)
     * processes what it has instead of first confirming that the others have nothing; that wait
     * only orders records by timestamp across partitions, which no result here depends on (every
     * table is an upsert by key, in each partition's order).</li>
     * </ul>
     */
    Properties streamsProperties() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG,
                exactlyOnce ? StreamsConfig.EXACTLY_ONCE_V2 : StreamsConfig.AT_LEAST_ONCE);
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitIntervalMs);
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, cacheMaxBytes);
        props.put(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, StreamsConfig.MAX_TASK_IDLE_MS_DISABLED);
        props.putAll(overrides);
        return props;
    }

    private static boolean bool(String flag, String value) throws UsageError {
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new UsageError(flag + " must be true or false, not " + value);
        };
    }

    private static long number(String flag, String value) throws UsageError {
        try {
            long n = Long.parseLong(value);
            if (n < 0) {
                throw new UsageError(flag + " must not be negative, not " + value);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageError(flag + " must be a whole number, not " + value);
        }
    }

    private static long positive(String flag, String value) throws UsageError {
        long n = number(flag, value);
        if (n == 0 || n > Integer.MAX_VALUE) {
            throw new UsageError(flag + " must be a whole number from 1, not " + value);
        }
        return n;
    }
}
