package salesflow.peer.serde;

import java.util.function.BiConsumer;
import java.util.function.Function;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A compact binary serde for one internal value type, from a field writer and a field reader.
 * Internal values (store contents, repartition and join topics) never go through JSON: input JSON
 * is parsed once, output JSON written once. The encoding is deterministic, as the foreign-key
 * joins require (they compare hashes of serialized values).
 */
final class BinarySerde<T> implements Serde<T> {
    private final Serializer<T> serializer;
    private final Deserializer<T> deserializer;

    BinarySerde(BiConsumer<BinaryWriter, T> write, Function<BinaryReader, T> read) {
        serializer = (topic, value) -> {
            if (value == null) {
                return null;
            }
            BinaryWriter writer = new BinaryWriter();
            write.accept(writer, value);
            return writer.toBytes();
        };
        deserializer = (topic, bytes) -> bytes == null ? null : read.apply(new BinaryReader(bytes));
    }

    @Override
    public Serializer<T> serializer() {
        return serializer;
    }

    @Override
    public Deserializer<T> deserializer() {
        return deserializer;
    }
}
