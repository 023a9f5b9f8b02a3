//! The read API over the store: node list, node detail, stored samples.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use edgeward_proto::{NodeId, Seq, StreamId};
use serde::Deserialize;

use super::AppState;
use crate::store::{Store, StoreError};

/// Most samples one `/samples` request returns.
pub const MAX_SAMPLES_PER_PAGE: usize = 10_000;

pub async fn list(State(state): State<AppState>) -> Response {
    blocking(state.store, |store| store.nodes().map(Json)).await
}

pub async fn detail(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(node) = NodeId::new(id.clone()) else {
        return (StatusCode::NOT_FOUND, format!("no node {id:?}\n")).into_response();
    };
    blocking(state.store, move |store| {
        store.node(&node).map(|detail| match detail {
            Some(detail) => Json(detail).into_response(),
            None => (StatusCode::NOT_FOUND, format!("no node {node}\n")).into_response(),
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct SamplesQuery {
    after_stream: Option<u64>,
    after_seq: Option<u64>,
    limit: Option<usize>,
}

pub async fn samples(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SamplesQuery>,
) -> Response {
    let Ok(node) = NodeId::new(id.clone()) else {
        return (StatusCode::NOT_FOUND, format!("no node {id:?}\n")).into_response();
    };
    let after = match (q.after_stream, q.after_seq) {
        (Some(stream), Some(seq)) => Some((StreamId(stream), Seq(seq))),
        (None, None) => None,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "after_stream and after_seq come together\n",
            )
                .into_response();
        }
    };
    let limit = q.limit.unwrap_or(1_000).min(MAX_SAMPLES_PER_PAGE);
    blocking(state.store, move |store| {
        store.samples(&node, after, limit).map(Json)
    })
    .await
}

/// Runs a store read on the blocking pool; a store error is a 503 naming it.
async fn blocking<T, F>(store: Arc<dyn Store>, read: F) -> Response
where
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    T: IntoResponse + Send + 'static,
{
    match tokio::task::spawn_blocking(move || read(store.as_ref())).await {
        Ok(Ok(response)) => response.into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store task: {e}\n"),
        )
            .into_response(),
    }
}
