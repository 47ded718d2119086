package salesflow.peer;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the input topics and creates the output topics that are missing, before the topology
 * starts (Kafka Streams creates only its internal topics). Output topics are compacted: each
 * holds the latest row per key, like salesflow's upsert outputs.
 */
final class TopicSetup {
    private static final Logger LOG = LoggerFactory.getLogger("salesflow-kafka-streams");
    private static final long TIMEOUT_SECONDS = 60;

    private TopicSetup() {}

    /** Why the job cannot start, and its exit code: 2 to fix the setup, 1 otherwise. */
    static final class SetupError extends Exception {
        private static final long serialVersionUID = 1L;
        private final int exitCode;

        SetupError(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }

        int exitCode() {
            return exitCode;
        }
    }

    static void prepare(Options options) throws SetupError {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrap()))) {
            Set<String> existing = admin.listTopics().names().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            List<String> missingInputs = options.topics().inputs().stream().filter(t -> !existing.contains(t)).toList();
            if (!missingInputs.isEmpty()) {
                throw new SetupError("input topics " + missingInputs + " do not exist: create them "
                        + "(compacted, or kept forever) or fix --input-prefix", 2);
            }
            List<NewTopic> missingOutputs = options.topics().outputs().stream()
                    .filter(t -> !existing.contains(t))
                    .map(t -> new NewTopic(t, Optional.of(options.outputPartitions()), Optional.empty())
                            .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)))
                    .toList();
            for (NewTopic topic : missingOutputs) {
                try {
                    admin.createTopics(List.of(topic)).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    LOG.info("created output topic {}", topic.name());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        } catch (ExecutionException e) {
            throw new SetupError("cannot set up topics on " + options.bootstrap() + ": " + e.getCause(), 1);
        } catch (TimeoutException e) {
            throw new SetupError("no answer from the brokers at " + options.bootstrap() + " within "
                    + TIMEOUT_SECONDS + " s: check --bootstrap", 1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SetupError("interrupted while setting up topics", 1);
        }
    }
}
