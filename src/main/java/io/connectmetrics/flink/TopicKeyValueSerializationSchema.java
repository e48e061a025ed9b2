package io.connectmetrics.flink;

import java.nio.charset.StandardCharsets;

import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.types.Row;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes a {@code Row(topic, key, value)} of strings as one Kafka record.
 *
 * <p>Why: the job routes every output kind (queue/agent metrics, contacts, dead letters) through a
 * single exactly-once KafkaSink, so the topic has to travel with the element; and the Kafka key
 * must be the record's {@code key} field so compacted topics keep the latest revision. PyFlink's
 * own builder can do neither (fixed topic or a Python topic selector, no per-element key).
 *
 * <p>PyFlink sends {@code Types.ROW([Types.STRING(), Types.STRING(), Types.STRING()])}. A null key
 * gives a keyless record, a null value a tombstone.
 *
 * <p>The record timestamp is left to the producer (the time of writing), not the element's event
 * time: a replay of months-old history would otherwise write metrics and dead letters that
 * time-based retention deletes at once, and the window a record describes is in its payload.
 */
public class TopicKeyValueSerializationSchema implements KafkaRecordSerializationSchema<Row> {

    private static final long serialVersionUID = 1L;

    public TopicKeyValueSerializationSchema() {}

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
            Row element, KafkaSinkContext context, Long timestamp) {
        if (element == null || element.getArity() < 3) {
            throw new IllegalArgumentException(
                    "expected Row(topic, key, value), got " + element);
        }
        Object topic = element.getField(0);
        if (topic == null || topic.toString().isEmpty()) {
            throw new IllegalArgumentException("Row(topic, key, value) has no topic: " + element);
        }
        return new ProducerRecord<>(
                topic.toString(),
                null,
                null,
                utf8(element.getField(1)),
                utf8(element.getField(2)));
    }

    private static byte[] utf8(Object field) {
        return field == null ? null : field.toString().getBytes(StandardCharsets.UTF_8);
    }
}
