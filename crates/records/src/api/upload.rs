//! A record with its file, from `multipart/form-data`: the `record` part (JSON) first, then the
//! `file` part, streamed through type checks, hashing and sealing into the blob store, so at
//! most a chunk and one store part of it are in memory. Any refusal leaves no row and no blob.

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use bytes::Bytes;
use contracts::records::{MedicalRecord, NewRecord};
use platform::audit::AuditContext;
use platform::client::Forwarded;
use platform::extract::parse_json;
use platform::{ApiError, FieldError};
use sha2::{Digest, Sha256};

use super::Refusal;
use super::create::{authorize, save};
use crate::AppState;
use crate::blobs::SealedWriter;
use crate::domain::{RecordDetails, SealedText, clean_file_name};
use crate::files::{FileKind, SNIFF_BYTES, TextCheck, sniff};
use crate::store::StoredFile;

/// The `record` part is a small JSON document.
const RECORD_PART_MAX: usize = 256 * 1024;

pub(super) async fn create_with_file(
    state: &AppState,
    ctx: &AuditContext,
    fwd: &Forwarded,
    request: Request,
) -> Result<MedicalRecord, Refusal> {
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|err| {
            ApiError::Malformed(format!("The form cannot be read: {}", err.body_text()))
        })?;
    let record = next_part(&mut form, "record").await?;
    let details = read_record(record).await?;
    let access = authorize(state, ctx, fwd, &details).await?;
    let file = next_part(&mut form, "file").await?;
    let file_name = file
        .file_name()
        .and_then(clean_file_name)
        .unwrap_or_else(|| "attachment".to_owned());
    let declared = file.content_type().map(str::to_owned);
    let id = state.store.allocate_id().await?;
    let stored = store_file(state, id, file, declared.as_deref()).await?;
    let object = stored.object.clone();
    let text = SealedText {
        title: details.title.into_string(),
        content: details.content.into_string(),
        file_name: Some(file_name),
    };
    match save(
        state,
        ctx,
        access,
        (id, details.record_type),
        text,
        Some(stored),
    )
    .await
    {
        Ok(record) => Ok(record),
        Err(err) => {
            // No row, so no orphaned blob either.
            if let Err(cleanup) = state.blobs.delete(&object).await {
                tracing::error!(record_id = id, error = %cleanup, "orphaned attachment left behind");
            }
            Err(err.into())
        }
    }
}

/// The next part, which must be `name`.
async fn next_part<'a>(form: &'a mut Multipart, name: &str) -> Result<Field<'a>, Refusal> {
    let field = form
        .next_field()
        .await
        .map_err(broken_form)?
        .ok_or_else(|| ApiError::invalid(name, "is required"))?;
    match field.name() {
        Some(found) if found == name => Ok(field),
        Some("file") if name == "record" => {
            Err(ApiError::invalid("record", "must come before the file part").into())
        }
        _ => Err(ApiError::invalid(name, "is required (parts: record, then file)").into()),
    }
}

fn broken_form(err: MultipartError) -> Refusal {
    if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return Refusal::Status(
            err.status(),
            FieldError::new("file", "the form is too large"),
        );
    }
    ApiError::Malformed(format!("The form cannot be read: {}", err.body_text())).into()
}

/// The `record` part's JSON, validated; its fields are named `record.<field>`.
async fn read_record(mut part: Field<'_>) -> Result<RecordDetails, Refusal> {
    let mut json = Vec::new();
    while let Some(chunk) = part.chunk().await.map_err(broken_form)? {
        json.extend_from_slice(&chunk);
        if json.len() > RECORD_PART_MAX {
            return Err(ApiError::invalid("record", "is too large").into());
        }
    }
    let input: NewRecord = parse_json(&Bytes::from(json)).map_err(|err| match err {
        ApiError::Invalid(errors) => ApiError::Invalid(
            errors
                .into_iter()
                .map(|e| FieldError::new(format!("record.{}", e.field), e.message))
                .collect(),
        ),
        _ => ApiError::invalid("record", "is not valid JSON"),
    })?;
    Ok(RecordDetails::parse(input, "record.")?)
}

/// Streams the file into the blob store; on any refusal the partial upload is aborted.
async fn store_file(
    state: &AppState,
    record_id: i64,
    mut part: Field<'_>,
    declared: Option<&str>,
) -> Result<StoredFile, Refusal> {
    let ring = state.keys.ring()?;
    let (key_id, key) = ring.newest();
    let mut intake = Intake::new(state.max_upload_bytes, declared);
    let mut writer: Option<SealedWriter> = None;
    let outcome: Result<(), Refusal> = async {
        while let Some(chunk) = part.chunk().await.map_err(broken_form)? {
            let Some(ready) = intake.take(&chunk)? else {
                continue;
            };
            let writer = match &mut writer {
                Some(writer) => writer,
                None => writer.insert(state.blobs.create(key, record_id).await?),
            };
            writer.write(&ready).await?;
        }
        let rest = intake.finish()?;
        let writer = match &mut writer {
            Some(writer) => writer,
            None => writer.insert(state.blobs.create(key, record_id).await?),
        };
        Ok(writer.write(&rest).await?)
    }
    .await;
    let writer = writer.take();
    match (outcome, writer) {
        (Ok(()), Some(writer)) => {
            let (object, prefix) = writer.finish().await?;
            Ok(StoredFile {
                content_type: intake
                    .kind
                    .map(FileKind::content_type)
                    .unwrap_or_default()
                    .to_owned(),
                size: i64::try_from(intake.size).unwrap_or(i64::MAX),
                sha256: hex::encode(intake.hash.finalize()),
                key_id: key_id.to_owned(),
                nonce_prefix: prefix.to_vec(),
                object,
            })
        }
        (result, writer) => {
            if let Some(writer) = writer {
                writer.abort().await;
            }
            Err(result
                .err()
                .unwrap_or_else(|| ApiError::invalid("file", "must not be empty").into()))
        }
    }
}

/// Size, kind and hash of a file as it arrives. Holds back the first bytes until the kind is
/// known, so nothing of a refused file reaches the store.
struct Intake<'a> {
    limit: u64,
    declared: Option<&'a str>,
    head: Vec<u8>,
    kind: Option<FileKind>,
    text: Option<TextCheck>,
    size: u64,
    hash: Sha256,
}

impl<'a> Intake<'a> {
    fn new(limit: u64, declared: Option<&'a str>) -> Self {
        Self {
            limit,
            declared,
            head: Vec::new(),
            kind: None,
            text: None,
            size: 0,
            hash: Sha256::new(),
        }
    }

    /// Checks a piece; returns the bytes that may be stored now.
    fn take(&mut self, chunk: &[u8]) -> Result<Option<Vec<u8>>, Refusal> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(Refusal::too_large(self.limit));
        }
        self.hash.update(chunk);
        if self.kind.is_some() {
            self.check_text(chunk)?;
            return Ok(Some(chunk.to_vec()));
        }
        self.head.extend_from_slice(chunk);
        if self.head.len() < SNIFF_BYTES {
            return Ok(None);
        }
        self.decide()?;
        Ok(Some(std::mem::take(&mut self.head)))
    }

    /// The bytes still held back, once the file ended.
    fn finish(&mut self) -> Result<Vec<u8>, Refusal> {
        if self.size == 0 {
            return Err(ApiError::invalid("file", "must not be empty").into());
        }
        if self.kind.is_none() {
            self.decide()?;
        }
        if self.text.take().is_some_and(|check| !check.finish()) {
            return Err(Refusal::unsupported(
                "is not plain text: it ends inside a character",
            ));
        }
        Ok(std::mem::take(&mut self.head))
    }

    fn decide(&mut self) -> Result<(), Refusal> {
        let kind = sniff(&self.head)
            .ok_or_else(|| Refusal::unsupported("must be a PDF, PNG, JPEG or plain text file"))?;
        let declared = self.declared.map(|d| {
            d.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
        // A generic declaration says nothing; any other must be what the bytes are.
        let generic = |d: &String| d == "application/octet-stream";
        if let Some(declared) = declared.filter(|d| !generic(d) && d != kind.content_type()) {
            return Err(Refusal::unsupported(format!(
                "was declared {declared} but its bytes are {kind}"
            )));
        }
        self.kind = Some(kind);
        if kind == FileKind::Text {
            let mut check = TextCheck::default();
            check.push(&self.head);
            self.text = Some(check);
        }
        Ok(())
    }

    fn check_text(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
        let is_text = self.text.as_mut().is_none_or(|check| check.push(chunk));
        if is_text {
            Ok(())
        } else {
            Err(Refusal::unsupported(
                "is not plain text: invalid UTF-8 or control characters",
            ))
        }
    }
}
