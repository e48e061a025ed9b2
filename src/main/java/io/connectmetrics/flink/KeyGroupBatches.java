package io.connectmetrics.flink;

import java.util.ArrayList;
import java.util.Arrays;

import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * Records on their way to a keyed Python operator, in batches of the key groups one subtask owns.
 *
 * <p>Why: in PyFlink's thread mode every record that enters a Python operator pays for the
 * crossing (GIL hand-overs, conversions, a Java exception at the generator's end). A batch
 * crosses once. The {@link Batcher} groups {@code Row(key, value)} by the subtask of the keyed
 * operator that owns {@code key}'s key group and emits
 * {@code Row(representative, Row([key0, key1, ...], [value0, ...], parallelism))}, where the
 * representative is a string whose key group that same subtask owns: keyed by it, the batch
 * reaches the subtask that owns every key in it, and the Python operator makes each record's key
 * ({@link #key}) the current key of its keyed state backend before it handles the record, so
 * state and timers stay per key, exactly as without batches ({@code udfs/flink_batches.py}). The
 * values are the raw input strings from a source, or pickled records from another operator: one
 * each, or a packed list of (key, record) pairs that the Python operator grouped for that subtask
 * itself, with Flink's key-group assignment, and pickled once.
 *
 * <p>The batcher runs at the parallelism of the keyed operator it feeds (the job's default for
 * both; the Python side checks the {@code parallelism} field against its own and fails if they
 * differ).
 *
 * <p>Order and event time: a batch is emitted before the watermark or watermark status (idle,
 * active) that follows its records, before each checkpoint barrier, at the end of input, and
 * after {@code flushMs} of processing time, so no record is handled after a watermark it
 * preceded.
 *
 * <p>Checkpoints: before each barrier, after the last batch, every subtask downstream gets an
 * empty batch, the <em>flush marker</em>: the Python operator writes the state changes it still
 * holds in memory to Flink state then ({@code udfs/cached_state.py}), so that its snapshot,
 * taken when the last barrier has arrived (aligned checkpoints), holds them.
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

    /** The subtask of an operator at {@code parallelism} that owns {@code key}. */
    public static int subtask(String key, int maxParallelism, int parallelism) {
        return KeyGroupRangeAssignment.computeOperatorIndexForKeyGroup(
                maxParallelism, parallelism, keyGroup(key, maxParallelism));
    }

    /** One string per subtask that it owns ({@code "kg" + n}, the first n that fits). */
    public static String[] representatives(int maxParallelism, int parallelism) {
        String[] reps = new String[parallelism];
        int missing = parallelism;
        for (long n = 0; missing > 0; n++) {
            String candidate = "kg" + n;
            int index = subtask(candidate, maxParallelism, parallelism);
            if (reps[index] == null) {
                reps[index] = candidate;
                missing--;
            }
        }
        return reps;
    }

    /** Groups {@code Row(key, value)} records into batches of one subtask (class comment). */
    public static class Batcher extends AbstractStreamOperator<Row>
            implements OneInputStreamOperator<Row, Row>, ProcessingTimeCallback {
        private static final long serialVersionUID = 1L;

        private final int maxBatch;
        private final long flushMs;
        private final boolean strings;
        private transient int maxParallelism;
        private transient int parallelism;
        private transient String[] representatives;
        private transient ArrayList<Object>[] groups;
        private transient long[] latest;
        private transient int pending;
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
        @SuppressWarnings("unchecked")
        public void open() throws Exception {
            super.open();
            maxParallelism = getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks();
            parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
            representatives = representatives(maxParallelism, parallelism);
            groups = new ArrayList[parallelism];
            latest = new long[parallelism];
            Arrays.fill(latest, Long.MIN_VALUE);
        }

        /**
         * {@code Row(key, value)}; the output batch of a Python operator in columns,
         * {@code Row([key0, ...], [value0, ...])} (see {@link Unbatch}): each record goes to the
         * batch of its key's subtask; or a packed one, {@code Row([subtask0, ...], [list0, ...])}
         * (each list the pickled (key, record) pairs of that subtask's keys): each list goes
         * into that subtask's batch as one value, under its representative.
         */
        @Override
        public void processElement(StreamRecord<Row> element) {
            Row value = element.getValue();
            Object first = value.getField(0);
            if (first instanceof Object[]) {
                Object[] heads = (Object[]) first;
                Object[] values = (Object[]) value.getField(1);
                for (int i = 0; i < heads.length; i++) {
                    if (heads[i] instanceof String) {
                        add((String) heads[i], values[i], element);
                    } else {
                        int index = packedSubtask(heads[i]);
                        add(index, representatives[index], values[i], element);
                    }
                }
            } else {
                add((String) first, value.getField(1), element);
            }
        }

        private int packedSubtask(Object head) {
            int index = ((Number) head).intValue();
            if (index < 0 || index >= parallelism) {
                throw new IllegalStateException("a packed batch names subtask " + index
                        + ", but this batcher runs at parallelism " + parallelism
                        + ": the Python operator before it must run at the same parallelism");
            }
            return index;
        }

        private void add(String key, Object value, StreamRecord<Row> element) {
            add(subtask(key, maxParallelism, parallelism), key, value, element);
        }

        private void add(int index, String key, Object value, StreamRecord<Row> element) {
            ArrayList<Object> batch = groups[index];
            if (batch == null) {
                batch = groups[index] = new ArrayList<>(2 * Math.min(maxBatch, 64));
                pending++;
            }
            batch.add(key);
            batch.add(value);
            if (element.hasTimestamp() && element.getTimestamp() > latest[index]) {
                latest[index] = element.getTimestamp();
            }
            if (batch.size() >= 2 * maxBatch) {
                emit(index);
            } else if (!timerSet) {
                timerSet = true;
                getProcessingTimeService().registerTimer(
                        getProcessingTimeService().getCurrentProcessingTime() + flushMs, this);
            }
        }

        private void send(int index, String[] keys, Object[] values, long timestamp) {
            Row row = new Row(2);
            row.setField(0, representatives[index]);
            row.setField(1, Row.of(keys, values, parallelism));
            output.collect(timestamp == Long.MIN_VALUE
                    ? new StreamRecord<>(row) : new StreamRecord<>(row, timestamp));
        }

        private void emit(int index) {
            ArrayList<Object> batch = groups[index];
            groups[index] = null;
            pending--;
            int n = batch.size() / 2;
            String[] keys = new String[n];
            Object[] values = strings ? new String[n] : new byte[n][];
            for (int i = 0; i < n; i++) {
                keys[i] = (String) batch.get(2 * i);
                values[i] = batch.get(2 * i + 1);
            }
            long ts = latest[index];
            latest[index] = Long.MIN_VALUE;
            send(index, keys, values, ts);
        }

        private void flushAll() {
            for (int i = 0; pending > 0 && i < groups.length; i++) {
                if (groups[i] != null) {
                    emit(i);
                }
            }
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

        /** The last batches, then a flush marker to every subtask (class comment). */
        @Override
        public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
            flushAll();
            for (int i = 0; i < parallelism; i++) {
                send(i, new String[0], strings ? new String[0] : new byte[0][], Long.MIN_VALUE);
            }
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

    /**
     * The records of a Python operator's output batch: {@code Row([a0, a1, ...], [b0, ...], ...)}
     * (one array per field, all of one length) becomes {@code Row(a0, b0, ...)},
     * {@code Row(a1, b1, ...)}, ... in order. In thread mode a keyed Python operator hands each
     * output stream one such batch per input batch or timer instead of one call into Java per
     * record ({@code udfs/flink_batches.py}); sink-bound rows are split here, records for another
     * keyed operator by its {@link Batcher}.
     */
    public static class Unbatch implements FlatMapFunction<Row, Row> {
        private static final long serialVersionUID = 1L;

        @Override
        public void flatMap(Row batch, Collector<Row> out) {
            int arity = batch.getArity();
            Object[][] fields = new Object[arity][];
            for (int f = 0; f < arity; f++) {
                fields[f] = (Object[]) batch.getField(f);
            }
            for (int i = 0; i < fields[0].length; i++) {
                Row row = new Row(arity);
                for (int f = 0; f < arity; f++) {
                    row.setField(f, fields[f][i]);
                }
                out.collect(row);
            }
        }
    }
}
