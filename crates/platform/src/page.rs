//! Pagination shared by every list endpoint: `?page=0&size=20` in, `{items,page,size,total}` out.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

pub const DEFAULT_SIZE: u32 = 20;
pub const MAX_SIZE: u32 = 100;

#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 0.
    #[param(minimum = 0, maximum = 1000000)]
    pub page: Option<u32>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub size: Option<u32>,
}

/// A validated page request, ready to become `LIMIT`/`OFFSET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub size: u32,
}

impl PageParams {
    pub fn validate(self) -> Result<PageRequest, ApiError> {
        let size = self.size.unwrap_or(DEFAULT_SIZE);
        if !(1..=MAX_SIZE).contains(&size) {
            return Err(ApiError::invalid(
                "size",
                format!("must be between 1 and {MAX_SIZE}"),
            ));
        }
        let page = self.page.unwrap_or(0);
        if page > 1_000_000 {
            return Err(ApiError::invalid("page", "must be at most 1000000"));
        }
        Ok(PageRequest { page, size })
    }
}

impl PageRequest {
    pub fn limit(&self) -> i64 {
        i64::from(self.size)
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page) * i64::from(self.size)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub size: u32,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, request: PageRequest, total: i64) -> Self {
        Self {
            items,
            page: request.page,
            size: request.size,
            total,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            size: self.size,
            total: self.total,
        }
    }
}
