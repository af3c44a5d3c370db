//! In-process stand-ins for plugin libraries, so the scheduler's tests run fake plugins
//! described in Rust without building a cdylib ([`crate::Registry::with_fakes`]).

use std::sync::Arc;

use serde_json::{Map, Value};
use stoq_loader::{CallError, CallErrorKind, PluginManifest, QueryContext, WorkerOutput};
use stoq_plugin_abi::{ArchiverResponse, DecoratorResponse, DispatcherResponse};

use crate::options::Options;
use crate::plugin::Imp;

/// Starts a fake from its merged options (its "config hook"); an `Err` is a start failure.
pub(crate) type Make = Box<dyn Fn(&Map<String, Value>) -> Result<Imp, String> + Send + Sync>;

/// One fake plugin for [`crate::Registry::with_fakes`].
pub(crate) struct FakeEntry {
    pub manifest: PluginManifest,
    pub options: Options,
    pub make: Make,
}

/// What a fake is called with.
pub(crate) struct Input<'a> {
    pub content: &'a [u8],
    pub context: &'a dyn QueryContext,
}

impl Input<'_> {
    /// The context's answer for `key`, decoded.
    pub fn query(&self, key: &str) -> Value {
        self.context
            .query(key)
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or(Value::Null)
    }
}

type Call<T> = Arc<dyn Fn(&Input<'_>) -> Result<T, CallError> + Send + Sync>;
type OnResponse<T> = Arc<dyn Fn(&str) -> Result<T, CallError> + Send + Sync>;

/// A started fake: one closure per role it plays.
#[derive(Default, Clone)]
pub(crate) struct FakePlugin {
    pub required_workers: Vec<String>,
    pub scan: Option<Call<Option<WorkerOutput>>>,
    pub dispatch: Option<Call<DispatcherResponse>>,
    pub archive: Option<Call<ArchiverResponse>>,
    pub decorate: Option<OnResponse<DecoratorResponse>>,
    pub save: Option<OnResponse<()>>,
}

fn unsupported<T>(role: &str) -> Result<T, CallError> {
    Err(CallError {
        kind: CallErrorKind::Unsupported,
        message: format!("this fake is not a {role}"),
    })
}

impl FakePlugin {
    pub fn scan(
        &self,
        content: &[u8],
        context: &dyn QueryContext,
    ) -> Result<Option<WorkerOutput>, CallError> {
        match &self.scan {
            Some(f) => f(&Input { content, context }),
            None => unsupported("worker"),
        }
    }

    pub fn get_dispatches(
        &self,
        content: &[u8],
        context: &dyn QueryContext,
    ) -> Result<DispatcherResponse, CallError> {
        match &self.dispatch {
            Some(f) => f(&Input { content, context }),
            None => unsupported("dispatcher"),
        }
    }

    pub fn archive(
        &self,
        content: &[u8],
        context: &dyn QueryContext,
    ) -> Result<ArchiverResponse, CallError> {
        match &self.archive {
            Some(f) => f(&Input { content, context }),
            None => unsupported("archiver"),
        }
    }

    pub fn decorate(&self, response: &str) -> Result<DecoratorResponse, CallError> {
        match &self.decorate {
            Some(f) => f(response),
            None => unsupported("decorator"),
        }
    }

    pub fn save(&self, response: &str) -> Result<(), CallError> {
        match &self.save {
            Some(f) => f(response),
            None => unsupported("connector"),
        }
    }
}
