//! The REES46 columns (SPEC §1) and the engine's internal column names.

pub const EVENT_TIME: &str = "event_time";
pub const EVENT_TYPE: &str = "event_type";
pub const PRODUCT_ID: &str = "product_id";
pub const CATEGORY_ID: &str = "category_id";
pub const CATEGORY_CODE: &str = "category_code";
pub const BRAND: &str = "brand";
pub const PRICE: &str = "price";
pub const USER_ID: &str = "user_id";
pub const USER_SESSION: &str = "user_session";

/// All input columns, in the order of the public dump.
pub const COLUMNS: [&str; 9] = [
    EVENT_TIME,
    EVENT_TYPE,
    PRODUCT_ID,
    CATEGORY_ID,
    CATEGORY_CODE,
    BRAND,
    PRICE,
    USER_ID,
    USER_SESSION,
];

/// The largest valid price. Far above any real one, and small enough that no sum of squares
/// over a user's events can overflow (price_volatility's standard deviation stays finite).
pub const MAX_PRICE: f64 = 1e12;

/// The canonical columns a log is read as: `ts` (see below) for `event_time`, the rest as is.
pub const CANONICAL: [&str; 9] = [
    TS,
    EVENT_TYPE,
    PRODUCT_ID,
    CATEGORY_ID,
    CATEGORY_CODE,
    BRAND,
    PRICE,
    USER_ID,
    USER_SESSION,
];

/// Columns where an empty field (quoted or not) means "no value".
pub const NULLABLE: [&str; 3] = [CATEGORY_CODE, BRAND, USER_SESSION];

pub const EVENT_TYPES: [&str; 4] = ["view", "cart", "remove_from_cart", "purchase"];

/// Internal: event time as microseconds since the epoch, UTC.
pub const TS: &str = "ts";
/// Internal: dense index of the user in the sorted log (0, 1, 2, …), a compact join key.
pub const UIDX: &str = "__uidx";
/// Internal: rank of the brand among the log's distinct brands in byte order; null for no brand.
pub const BRAND_RANK: &str = "__brand_rank";
/// Internal: true for `purchase` events.
pub const IS_PURCHASE: &str = "is_purchase";
/// Internal: a row that breaks the schema (checked before anything else is trusted).
pub const BAD: &str = "__bad";
/// Internal: a row the scope keeps.
pub const KEEP: &str = "__keep";
/// Internal: index of the input file a row came from.
pub const FILE_IDX: &str = "__file";

/// Rows whose event time text has this suffix are UTC; text without it is read as UTC too.
pub const UTC_SUFFIX: &str = " UTC";
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// Length of `YYYY-MM-DD HH:MM:SS`: anything else (fractions, offsets) is unparsable.
pub const TIME_LEN: usize = 19;
