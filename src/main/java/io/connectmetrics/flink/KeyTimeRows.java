package io.connectmetrics.flink;

import org.apache.flink.api.common.eventtime.SerializableTimestampAssigner;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The records between a source and the job: {@code Row(key, raw, event_ms)} of STRING, STRING,
 * LONG; key and event time are null when {@link SourceKeyTime} cannot read the record.
 *
 * <p>The nested classes are the Java steps around it: {@link Lines} for JSON Lines files,
 * {@link Assigner} for the watermark strategy, {@link Route} to split readable records (on to
 * the keyed Python operators as {@code Row(key, raw)}) from unreadable ones (a side output of raw
 * strings, which the Python normalizer dead-letters with its reason). Unreadable records get
 * timestamp {@code Long.MIN_VALUE}, so they never move a watermark.
 */
public final class KeyTimeRows {

    public static final TypeInformation<Row> TYPE = Types.ROW(Types.STRING, Types.STRING, Types.LONG);
    public static final TypeInformation<Row> KEYED_TYPE = Types.ROW(Types.STRING, Types.STRING);
    public static final OutputTag<String> UNREADABLE = new OutputTag<>("unreadable", Types.STRING);

    private KeyTimeRows() {}

    static Row of(SourceKeyTime reader, String raw) {
        SourceKeyTime.KeyTime kt = reader.read(raw, System.currentTimeMillis());
        return kt == null ? Row.of(null, raw, null) : Row.of(kt.key, raw, kt.eventMs);
    }

    /** The side output of unreadable raw records (for PyFlink, which cannot build the tag). */
    public static OutputTag<String> unreadableTag() {
        return UNREADABLE;
    }

    /** JSON Lines: one record per non-blank line (a blank line in a file is no record). */
    public static class Lines implements FlatMapFunction<String, Row> {
        private static final long serialVersionUID = 1L;
        private final SourceKeyTime reader;

        public Lines(String stream, long minEventMs, long maxFutureMs) {
            this.reader = new SourceKeyTime(stream, minEventMs, maxFutureMs);
        }

        @Override
        public void flatMap(String line, Collector<Row> out) {
            if (line != null && !line.isBlank()) {
                out.collect(of(reader, line));
            }
        }
    }

    /** Event time = field 2; unreadable records get Long.MIN_VALUE (no watermark progress). */
    public static class Assigner implements SerializableTimestampAssigner<Row> {
        private static final long serialVersionUID = 1L;

        @Override
        public long extractTimestamp(Row element, long recordTimestamp) {
            Object ms = element.getField(2);
            return ms == null ? Long.MIN_VALUE : (Long) ms;
        }
    }

    /** Readable records as Row(key, raw) on the main output, unreadable raw on UNREADABLE. */
    public static class Route extends ProcessFunction<Row, Row> {
        private static final long serialVersionUID = 1L;

        @Override
        public void processElement(Row value, Context ctx, Collector<Row> out) {
            Object key = value.getField(0);
            if (key == null) {
                ctx.output(UNREADABLE, (String) value.getField(1));
            } else {
                out.collect(Row.of(key, value.getField(1)));
            }
        }
    }
}
