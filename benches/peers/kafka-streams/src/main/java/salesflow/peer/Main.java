package salesflow.peer;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import salesflow.peer.topology.SalesTopology;

/**
 * Runs the Kafka Streams peer of salesflow until SIGTERM or SIGINT (then closes cleanly) or a
 * fatal error (then exits 1 naming it). Exit 2: a command line or setup that cannot work.
 */
public final class Main {
    private static final Logger LOG = LoggerFactory.getLogger("salesflow-kafka-streams");
    /**
     * A stopped job leaves its group at once, so the group's partitions move to the instances
     * that remain (or the group is empty) without waiting out the session timeout.
     */
    private static final CloseOptions CLOSE = CloseOptions.timeout(Duration.ofSeconds(60))
            .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP);

    private Main() {}

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (Options.UsageError e) {
            if (!e.getMessage().isEmpty()) {
                System.err.println("salesflow-kafka-streams: " + e.getMessage());
            }
            System.err.print(Options.USAGE);
            System.exit(e.getMessage().isEmpty() ? 0 : 2);
            return;
        }
        try {
            TopicSetup.prepare(options);
        } catch (TopicSetup.SetupError e) {
            LOG.error("{}", e.getMessage());
            System.exit(e.exitCode());
        }
        int code;
        try {
            code = run(options);
        } catch (RuntimeException e) {
            // A topology or configuration Kafka Streams refuses: retrying will not help.
            LOG.error("cannot run: {}", describe(e), e);
            code = 1;
        }
        System.exit(code);
    }

    private static int run(Options options) {
        Properties config = options.streamsProperties();
        Topology topology = SalesTopology.build(options.topics(), config);
        LOG.debug("topology:\n{}", topology.describe());
        KafkaStreams streams = new KafkaStreams(topology, config);
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicReference<Throwable> fatal = new AtomicReference<>();
        streams.setUncaughtExceptionHandler(error -> {
            fatal.compareAndSet(null, error);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        AtomicBoolean failed = new AtomicBoolean();
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.RUNNING && before == KafkaStreams.State.REBALANCING) {
                LOG.info("RUNNING: application.id {}, {} stream threads, {}, inputs {}, outputs {}",
                        options.applicationId(), options.threads(),
                        options.exactlyOnce() ? "exactly_once_v2" : "at_least_once",
                        options.topics().inputs(), options.topics().outputs());
            }
            if (now == KafkaStreams.State.ERROR) {
                failed.set(true);
            }
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                stopped.countDown();
            }
        });
        Thread closer = new Thread(() -> {
            LOG.info("stopping: closing Kafka Streams");
            streams.close(CLOSE);
            stopped.countDown();
        }, "shutdown");
        Runtime.getRuntime().addShutdownHook(closer);
        streams.start();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Throwable error = fatal.get();
        if (error == null && !failed.get()) {
            return 0;
        }
        if (error == null) {
            LOG.error("Kafka Streams stopped in state ERROR (see the lines above)");
        } else {
            LOG.error("fatal error, stopping: {}", describe(error), error);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(closer);
        } catch (IllegalStateException e) {
            // Already shutting down: the hook closes the client.
            return 1;
        }
        streams.close(CLOSE);
        return 1;
    }

    /** The error's message and its innermost cause, which usually names the problem. */
    private static String describe(Throwable error) {
        Throwable cause = error;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause == error ? String.valueOf(error) : error.getMessage() + " (cause: " + cause + ")";
    }
}
