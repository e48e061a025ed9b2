package io.connectmetrics.flink;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ISO-8601 timestamps to epoch milliseconds, with exactly the grammar and range checks of the
 * Python parser ({@code udfs/timestamps.py}): {@code YYYY-MM-DD[Tt ]HH:MM[:SS[.F]]} and a zone
 * ({@code Z}/{@code z} or {@code +HH[[:]MM]}), F 1-9 digits (truncated to ms), years 0001-9999.
 *
 * <p>Why a copy: event time is read at the Kafka source (in Java) and must be the very instant
 * the Python normalizer computes; {@code tests/test_source_key_time.py} holds the two equal.
 */
public final class IsoTimestamps {

    /** Returned for anything that is not such a timestamp. */
    public static final long INVALID = Long.MIN_VALUE;

    private static final long MS_PER_MINUTE = 60_000L;
    private static final long MS_PER_DAY = 86_400_000L;
    private static final long MIN_MS = -719_162L * MS_PER_DAY;
    private static final long MAX_MS = 2_932_897L * MS_PER_DAY - 1;
    private static final int[] DAYS_IN_MONTH = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    // Java's \d is ASCII-only unless UNICODE_CHARACTER_CLASS is set, like Python's re.ASCII.
    private static final Pattern ISO = Pattern.compile(
            "(\\d{4})-(\\d\\d)-(\\d\\d)[Tt ](\\d\\d):(\\d\\d)(?::(\\d\\d)(?:[.,](\\d{1,9}))?)?"
                    + "(?:([Zz])|([+-])(\\d\\d)(?::?(\\d\\d))?)");

    private IsoTimestamps() {}

    /** Epoch ms of {@code value}, or {@link #INVALID}. */
    public static long parse(String value) {
        if (value == null) {
            return INVALID;
        }
        Matcher m = ISO.matcher(value);
        if (!m.matches()) {
            return INVALID;
        }
        int year = Integer.parseInt(m.group(1));
        int month = Integer.parseInt(m.group(2));
        int day = Integer.parseInt(m.group(3));
        int hour = Integer.parseInt(m.group(4));
        int minute = Integer.parseInt(m.group(5));
        if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59) {
            return INVALID;
        }
        int lastDay = month == 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month];
        if (day < 1 || day > lastDay) {
            return INVALID;
        }
        long ms = (daysFromCivil(year, month, day) * 1440L + hour * 60L + minute) * MS_PER_MINUTE;
        int second = m.group(6) == null ? 0 : Integer.parseInt(m.group(6));
        if (second > 59) {
            return INVALID;
        }
        ms += second * 1000L;
        String fraction = m.group(7);
        if (fraction != null) {
            ms += Integer.parseInt((fraction + "00").substring(0, 3));
        }
        if (m.group(8) == null) {
            int offH = Integer.parseInt(m.group(10));
            int offM = m.group(11) == null ? 0 : Integer.parseInt(m.group(11));
            if (offH > 23 || offM > 59) {
                return INVALID;
            }
            long offset = (offH * 60L + offM) * MS_PER_MINUTE;
            ms = "+".equals(m.group(9)) ? ms - offset : ms + offset;
        }
        return ms < MIN_MS || ms > MAX_MS ? INVALID : ms;
    }

    private static boolean isLeap(int year) {
        return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    }

    /** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
    private static long daysFromCivil(int year, int month, int day) {
        long y = month <= 2 ? year - 1 : year;
        long era = Math.floorDiv(y, 400);
        long yoe = y - era * 400;
        long doy = (153L * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146_097 + doe - 719_468;
    }
}
