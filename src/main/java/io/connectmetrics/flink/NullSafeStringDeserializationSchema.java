package io.connectmetrics.flink;

import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * Decodes a Kafka record value as a UTF-8 string and never fails.
 *
 * <p>Why: Flink's SimpleStringSchema throws on a null value (a tombstone), which would fail and
 * restart the whole job on one bad record. Bad input must reach the Python parser instead, which
 * dead-letters it: a null value becomes {@code ""} (not JSON), and invalid UTF-8 becomes U+FFFD.
 */
public class NullSafeStringDeserializationSchema implements DeserializationSchema<String> {

    private static final long serialVersionUID = 1L;

    public NullSafeStringDeserializationSchema() {}

    @Override
    public String deserialize(byte[] message) {
        return message == null ? "" : new String(message, StandardCharsets.UTF_8);
    }

    @Override
    public boolean isEndOfStream(String nextElement) {
        return false;
    }

    @Override
    public TypeInformation<String> getProducedType() {
        return Types.STRING;
    }
}
