//! Owns keyset pagination of the newest-first list methods ([`crate::Store::list_teams`],
//! [`crate::Store::list_runs_of`]): the opaque cursor (`(created_at, id)` of the last item
//! returned), clamping page sizes to [`MAX_PAGE`], and cutting the rows a backend fetched
//! into the page and the next page's cursor. No SQL here: each backend implements
//! [`BindPage`], binding [`Page::after`] and [`Page::fetch`] onto its own statements.

use chrono::{DateTime, Utc};
use sqlx::query::QueryAs;
use sqlx::{Database, Executor, FromRow, IntoArguments};
use uuid::Uuid;

use crate::error::StoreError;
use crate::model::{MAX_PAGE, RunRecord, TeamRecord};
use crate::rows::{IntoRecord, into_records};

/// Position in a newest-first listing: `(created_at, id)` of the last item returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// Encodes as `<µs since epoch>.<uuid simple>`; clients treat it as opaque.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        )
    }

    /// Parses an encoded cursor; anything malformed is `Invalid`.
    pub fn decode(text: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::Invalid("malformed cursor".into());
        let (micros, id) = text.split_once('.').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        if id.len() != 32 {
            return Err(bad());
        }
        let id = Uuid::try_parse(id).map_err(|_| bad())?;
        Ok(Self { created_at, id })
    }
}

/// A record listed newest first, keyed by its creation time and id.
pub(crate) trait Listed {
    /// The cursor pointing just past this record.
    fn cursor(&self) -> Cursor;
}

impl Listed for TeamRecord {
    fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

impl Listed for RunRecord {
    fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

/// One page a list call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    /// The last item of the previous page (`None`: the first page).
    pub after: Option<Cursor>,
    /// Items on the page, within `1..=MAX_PAGE`.
    pub limit: u32,
}

impl Page {
    /// The page of a list call's `limit` (clamped to `1..=MAX_PAGE`) and `cursor` (a
    /// malformed one is `Invalid`).
    pub fn new(limit: u32, cursor: Option<&str>) -> Result<Self, StoreError> {
        Ok(Self {
            after: cursor.map(Cursor::decode).transpose()?,
            limit: page_size(limit),
        })
    }

    /// How many rows to fetch: one more than the page holds, which tells whether another
    /// page follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// Cuts fetched items (at most [`Page::fetch`], in list order) to the page, with the
    /// cursor of the next page (`None`: this is the last one).
    pub fn cut<T: Listed>(&self, mut items: Vec<T>) -> (Vec<T>, Option<String>) {
        let limit = self.limit as usize;
        if items.len() <= limit {
            return (items, None);
        }
        items.truncate(limit);
        let next = items.last().map(|item| item.cursor().encode());
        (items, next)
    }
}

/// A list query that takes a [`Page`]'s parameters after its own: the cursor's
/// `created_at` and id (both `NULL` on the first page), then [`Page::fetch`]. Each
/// backend implements it for its queries, binding the time as it stores one.
pub(crate) trait BindPage: Sized {
    /// The query with the page's parameters bound.
    fn bind_page(self, page: &Page) -> Self;
}

/// One page of a list query whose own parameters are bound: binds the page of `limit`
/// and `cursor` ([`Page::new`]), fetches its rows with `executor` and cuts them into the
/// page and the next page's cursor ([`Page::cut`]).
pub(crate) async fn list_page<'q, 'c, DB, R, E>(
    query: QueryAs<'q, DB, R, DB::Arguments<'q>>,
    executor: E,
    limit: u32,
    cursor: Option<String>,
) -> Result<(Vec<R::Record>, Option<String>), StoreError>
where
    DB: Database,
    DB::Arguments<'q>: IntoArguments<'q, DB>,
    QueryAs<'q, DB, R, DB::Arguments<'q>>: BindPage,
    R: IntoRecord + Send + Unpin + for<'r> FromRow<'r, DB::Row> + 'q,
    R::Record: Listed,
    E: Executor<'c, Database = DB> + 'q,
{
    let page = Page::new(limit, cursor.as_deref())?;
    let rows = query.bind_page(&page).fetch_all(executor).await?;
    Ok(page.cut(into_records(rows)?))
}

/// Clamps a page size to `1..=MAX_PAGE`.
pub(crate) fn page_size(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::now_micros;

    impl Listed for Cursor {
        fn cursor(&self) -> Cursor {
            *self
        }
    }

    #[test]
    fn a_page_is_cut_to_its_limit_and_points_past_its_last_item() {
        let items: Vec<Cursor> = (0..3)
            .map(|_| Cursor {
                created_at: now_micros(),
                id: Uuid::new_v4(),
            })
            .collect();
        let page = Page::new(2, None).unwrap();
        assert_eq!(page.fetch(), 3);
        let (kept, next) = page.cut(items.clone());
        assert_eq!(kept, items[..2]);
        assert_eq!(next, Some(items[1].encode()));
        let (all, last) = page.cut(items[..2].to_vec());
        assert_eq!((all.len(), last), (2, None));
        assert_eq!(Page::new(0, None).unwrap().limit, 1);
        assert_eq!(Page::new(u32::MAX, None).unwrap().limit, MAX_PAGE);
        let after = Page::new(2, Some(&items[0].encode())).unwrap().after;
        assert_eq!(after, Some(items[0]));
        assert!(matches!(
            Page::new(2, Some("x")),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            created_at: now_micros(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        for bad in [
            "",
            "x",
            "1.",
            ".abc",
            "12.not-a-uuid",
            "a.00000000000000000000000000000000",
        ] {
            assert!(
                matches!(Cursor::decode(bad), Err(StoreError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
