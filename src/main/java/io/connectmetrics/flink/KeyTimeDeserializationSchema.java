package io.connectmetrics.flink;

import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.types.Row;

/**
 * A Kafka / Kinesis record value as {@code Row(key, raw, event_ms)} (see {@link KeyTimeRows}).
 *
 * <p>Why in the deserializer: the source's watermark strategy then reads the event time of each
 * record as its partition's reader emits it, so Flink keeps one watermark per split (SPEC §3).
 * Never fails: a null value (tombstone) gives {@code Row(null, null, null)}, invalid UTF-8 becomes
 * U+FFFD; the Python side dead-letters whatever this cannot read.
 */
public class KeyTimeDeserializationSchema implements DeserializationSchema<Row> {

    private static final long serialVersionUID = 1L;

    private final SourceKeyTime reader;

    public KeyTimeDeserializationSchema(String stream, long minEventMs, long maxFutureMs) {
        this.reader = new SourceKeyTime(stream, minEventMs, maxFutureMs);
    }

    @Override
    public Row deserialize(byte[] message) {
        if (message == null) {
            return Row.of(null, null, null);
        }
        return KeyTimeRows.of(reader, new String(message, StandardCharsets.UTF_8));
    }

    @Override
    public boolean isEndOfStream(Row nextElement) {
        return false;
    }

    @Override
    public TypeInformation<Row> getProducedType() {
        return KeyTimeRows.TYPE;
    }
}
