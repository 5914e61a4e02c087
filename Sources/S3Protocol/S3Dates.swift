/// The two date shapes S3 answers carry. Pure: Unix milliseconds in.
public enum S3Dates {
    static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    struct Civil { let year, month, day, hour, minute, second, millis, weekday: Int }

    static func civil(_ unixMillis: UInt64) -> Civil {
        let millis = Int(unixMillis % 1000)
        let seconds = Int(unixMillis / 1000)
        let days = seconds / 86400
        let rem = seconds % 86400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return Civil(year: year, month: month, day: day, hour: rem / 3600, minute: rem % 3600 / 60, second: rem % 60,
                     millis: millis, weekday: days % 7)
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// `2009-10-12T17:50:30.000Z`, as listings show LastModified.
    public static func iso8601(_ unixMillis: UInt64) -> String {
        let c = civil(unixMillis)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(c.millis, 3))Z"
    }

    /// `2009-10-12T17:50:30Z` or `…30.000Z` (a POST policy's expiration) → Unix seconds.
    public static func parseISO8601(_ text: String) -> Int64? {
        let c = Array(text)
        guard c.count >= 20, c[4] == "-", c[7] == "-", c[10] == "T", c[13] == ":", c[16] == ":", c.last == "Z" else { return nil }
        if c.count > 20 { guard c[19] == ".", c[20..<(c.count - 1)].allSatisfy(\.isNumber) else { return nil } }
        let basic = String(c[0..<4]) + String(c[5..<7]) + String(c[8..<10]) + "T" + String(c[11..<13]) + String(c[14..<16]) + String(c[17..<19]) + "Z"
        return SigV4.parseAmzDate(basic)
    }

    /// `20091012T175030Z`, as SigV4's x-amz-date.
    public static func amzDate(_ unixMillis: UInt64) -> String {
        let c = civil(unixMillis)
        return "\(pad(c.year, 4))\(pad(c.month, 2))\(pad(c.day, 2))T\(pad(c.hour, 2))\(pad(c.minute, 2))\(pad(c.second, 2))Z"
    }

    /// `Mon, 12 Oct 2009 17:50:30 GMT`, as the Last-Modified header.
    public static func rfc1123(_ unixMillis: UInt64) -> String {
        let c = civil(unixMillis)
        return "\(weekdays[c.weekday]), \(pad(c.day, 2)) \(months[c.month - 1]) \(pad(c.year, 4)) \(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) GMT"
    }
}
