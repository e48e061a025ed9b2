package io.connectmetrics.flink;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;

import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.types.Row;

/**
 * Records on their way to a keyed Python operator, in batches of one key group each.
 *
 * <p>Why: in PyFlink's thread mode every record that enters a Python operator pays for the
 * crossing (GIL hand-overs, conversions, a Java exception at the generator's end). A batch
 * crosses once. The {@link Batcher} groups {@code Row(key, value)} by the key group of
 * {@code key} and emits {@code Row(representative, Row([key0, key1, ...], [value0, ...]))}, where
 * the representative is a string of that same key group: keyed by it, the batch reaches the
 * subtask that owns every key in it, and the Python operator makes each record's key
 * ({@link #key}) the current key of its keyed state backend before it handles the record, so
 * state and timers stay per key, exactly as without batches ({@code udfs/flink_batches.py}). The
 * values are the raw input strings from a source, or pickled records from another operator.
 *
 * <p>Order and event time: a batch is emitted before the watermark or watermark status (idle,
 * active) that follows its records, before each checkpoint barrier, at the end of input, and
 * after {@code flushMs} of processing time, so no record is handled after a watermark it
 * preceded.
 */
public final class KeyGroupBatches {

    private KeyGroupBatches() {}

    /** The key PyFlink's {@code KeyByKeySelector} makes of field 0: {@code Row(key)}. */
    public static Row key(String key) {
        Row row = new Row(1);
        row.setField(0, key);
        return row;
    }

    public static int keyGroup(String key, int maxParallelism) {
        return KeyGroupRangeAssignment.assignToKeyGroup(key(key), maxParallelism);
    }

    /** One string per key group whose key group it is ({@code "kg" + n}, the first n that fits). */
    public static String[] representatives(int maxParallelism) {
        String[] reps = new String[maxParallelism];
        int missing = maxParallelism;
        for (long n = 0; missing > 0; n++) {
            String candidate = "kg" + n;
            int group = keyGroup(candidate, maxParallelism);
            if (reps[group] == null) {
                reps[group] = candidate;
                missing--;
            }
        }
        return reps;
    }

    /** Groups {@code Row(key, value)} records into batches of one key group (class comment). */
    public static class Batcher extends AbstractStreamOperator<Row>
            implements OneInputStreamOperator<Row, Row>, ProcessingTimeCallback {
        private static final long serialVersionUID = 1L;

        private final int maxBatch;
        private final long flushMs;
        private final boolean strings;
        private transient int maxParallelism;
        private transient String[] representatives;
        private transient Map<Integer, ArrayList<Object>> groups;
        private transient Map<Integer, Long> latest;
        private transient boolean timerSet;

        /**
         * {@code maxBatch}: records per batch at most; {@code flushMs}: longest wait;
         * {@code strings}: the values are strings (raw input), else byte arrays (pickled).
         */
        public Batcher(int maxBatch, long flushMs, boolean strings) {
            if (maxBatch < 1 || flushMs < 1) {
                throw new IllegalArgumentException("maxBatch and flushMs must be >= 1");
            }
            this.maxBatch = maxBatch;
            this.flushMs = flushMs;
            this.strings = strings;
        }

        @Override
        public void open() throws Exception {
            super.open();
            maxParallelism = getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks();
            representatives = representatives(maxParallelism);
            groups = new HashMap<>();
            latest = new HashMap<>();
        }

        @Override
        public void processElement(StreamRecord<Row> element) {
            Row value = element.getValue();
            String key = (String) value.getField(0);
            int group = keyGroup(key, maxParallelism);
            ArrayList<Object> batch = groups.computeIfAbsent(group, g -> new ArrayList<>());
            batch.add(key);
            batch.add(value.getField(1));
            if (element.hasTimestamp()) {
                latest.merge(group, element.getTimestamp(), Math::max);
            }
            if (batch.size() >= 2 * maxBatch) {
                emit(group, groups.remove(group));
            } else if (!timerSet) {
                timerSet = true;
                getProcessingTimeService().registerTimer(
                        getProcessingTimeService().getCurrentProcessingTime() + flushMs, this);
            }
        }

        private void emit(int group, ArrayList<Object> batch) {
            int n = batch.size() / 2;
            String[] keys = new String[n];
            Object[] values = strings ? new String[n] : new byte[n][];
            for (int i = 0; i < n; i++) {
                keys[i] = (String) batch.get(2 * i);
                values[i] = batch.get(2 * i + 1);
            }
            Row row = new Row(2);
            row.setField(0, representatives[group]);
            row.setField(1, Row.of(keys, values));
            Long ts = latest.remove(group);
            output.collect(ts == null ? new StreamRecord<>(row) : new StreamRecord<>(row, ts));
        }

        private void flushAll() {
            if (groups.isEmpty()) {
                return;
            }
            for (Map.Entry<Integer, ArrayList<Object>> e : groups.entrySet()) {
                emit(e.getKey(), e.getValue());
            }
            groups.clear();
        }

        @Override
        public void processWatermark(Watermark mark) throws Exception {
            flushAll();
            super.processWatermark(mark);
        }

        /** A stream going idle (or active again) keeps its records ahead of the change too. */
        @Override
        public void processWatermarkStatus(WatermarkStatus status) throws Exception {
            flushAll();
            super.processWatermarkStatus(status);
        }

        @Override
        public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
            flushAll();
            super.prepareSnapshotPreBarrier(checkpointId);
        }

        @Override
        public void onProcessingTime(long time) {
            timerSet = false;
            flushAll();
        }

        @Override
        public void finish() throws Exception {
            flushAll();
            super.finish();
        }
    }
}
