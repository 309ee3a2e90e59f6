//! The Edubadges endpoints E1–E7 (contract section 6.2) over the double's
//! store, with edubadges-server's checks, their order and their bodies.
//!
//! Two kinds of failure come out of edubadges-server, and the double keeps
//! them apart: DRF answers (`Out::Drf`: validation shapes, `{"detail": …}`,
//! compact JSON) and Python exceptions that its middleware turns into
//! `400 {"error": "<str(exception)>"}` (`Out::PyError`: Django's
//! `JsonResponse`, `json.dumps` spacing). Those exceptions are what
//! edubadges-server's code raises for each input; where it raises a
//! `TypeError` or `KeyError` the double says the same.

use super::MockBadgeClass;
use super::fields::{self, Field, FieldError};
use super::python;
use super::state::{Assertion, Bundle, DirectAward, DirectAwardStatus};
use base64::Engine as _;
use chrono::{DateTime, Duration as Days, Utc};
use serde_json::{Map, Value, json};

/// Days until an unclaimed direct award expires (`EXPIRY_DIRECT_AWARDS_DELETION_THRESHOLD_DAYS`).
const EXPIRY_DAYS: i64 = 82;
/// Days until a deleted direct award is purged (`DIRECT_AWARDS_DELETION_THRESHOLD_DAYS`).
const DELETION_DAYS: i64 = 30;

/// The issuer, faculty and institution every badge class of the double
/// belongs to.
pub(super) const ISSUER_ID: &str = "MockIssuerEdubadges00Q";
pub(super) const FACULTY_ID: &str = "MockFacultyEdubadges0Q";
pub(super) const INSTITUTION_ID: &str = "MockInstitutionEdubadQ";
const ISSUER_NAME: (&str, &str) = ("Mock Issuer", "Mock Uitgever");
const FACULTY_NAME: (&str, &str) = ("Mock Faculty", "Mock Faculteit");
const INSTITUTION_NAME: (&str, &str) = ("Mock University", "Mock Universiteit");

/// What an endpoint answers, before content negotiation.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Out {
    /// A DRF response; `None` is an empty body.
    Drf(u16, Option<Value>),
    /// A Python exception caught by Edubadges' middleware: 400 `{"error": …}`.
    PyError(String),
}

/// The badge classes and institution settings (fixed at start).
#[derive(Debug)]
pub(super) struct Catalog {
    pub badge_classes: Vec<MockBadgeClass>,
    pub eppn_regex: Option<fancy_regex::Regex>,
    pub base_url: String,
    pub created_at: DateTime<Utc>,
}

impl Catalog {
    fn badge_class(&self, entity_id: &str) -> Option<usize> {
        self.badge_classes.iter().position(|bc| bc.entity_id == entity_id)
    }

    /// Python's `re.match(pattern, eppn, re.IGNORECASE)`: anchored at the start only.
    fn eppn_matches(&self, eppn: &str) -> bool {
        self.eppn_regex.as_ref().is_none_or(|re| re.is_match(eppn).unwrap_or(false))
    }
}

/// Compiles the institution's eppn pattern as Python's `re.match` would use it.
pub(super) fn compile_eppn_regex(pattern: &str) -> Result<fancy_regex::Regex, fancy_regex::Error> {
    fancy_regex::Regex::new(&format!("(?i)^(?:{pattern})"))
}

/// Everything Edubadges stores.
#[derive(Debug, Default)]
pub(super) struct World {
    pub direct_awards: Vec<DirectAward>,
    pub bundles: Vec<Bundle>,
    pub assertions: Vec<Assertion>,
}

/// A new 22-character url-safe entity id, as Edubadges makes them.
pub(super) fn new_entity_id() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}

/// `BadgrValidationFieldError(field, 'This field is required', 999)`.
fn field_required(field: &str) -> Out {
    let mut fields = Map::new();
    fields.insert(field.to_owned(), json!([{"error_message": "This field is required", "error_code": "999"}]));
    Out::Drf(400, Some(json!({"detail": "validation_error", "fields": {"error_message": fields, "error_code": "999"}})))
}

/// `entity.utils.validate_errors`: the serializer's errors in field order.
fn validation_error(fields: Map<String, Value>) -> Out {
    Out::Drf(400, Some(json!({"detail": "validation_error", "fields": {"error_message": fields, "error_code": "999"}})))
}

/// One validated item of `direct_awards`.
#[derive(Debug, Default)]
struct AwardInput {
    has_badgeclass: bool,
    eppn: Option<Field<String>>,
    recipient_email: Option<String>,
    first_name: Option<String>,
    surname: Option<String>,
    evidence_url: Option<String>,
    narrative: Option<String>,
    name: Option<String>,
    description: Option<String>,
    grade_achieved: Option<String>,
}

/// E1 `POST /directaward/create`.
pub(super) fn create(catalog: &Catalog, world: &mut World, data: &Value, now: DateTime<Utc>) -> Out {
    // DirectAwardBundleSerializer: the body must be a dict.
    let obj = match data {
        Value::Object(obj) => obj,
        Value::Null => {
            return validation_error(one_field("non_field_errors", &FieldError::new("901", "No data provided")));
        }
        other => {
            let message = format!("Invalid data. Expected a dictionary, but got {}.", python::type_name(other));
            return validation_error(one_field("non_field_errors", &FieldError::new("902", message)));
        }
    };
    let mut errors = Map::new();
    // A TypeError raised while validating (re.match on None) ends the
    // request at once; one raised while formatting the errors
    // (validate_errors meets a list or a dict where it expects errors) only
    // once the errors are formatted. Either way it replaces them.
    let mut raised: Option<String> = None;
    let mut formatting_crash: Option<String> = None;
    let check_eppn = catalog.eppn_regex.is_some() && obj.get("identifier_type").is_none_or(|t| t == "eppn");

    let badgeclass =
        keep(&mut errors, "badgeclass", fields::slug_field(obj.get("badgeclass"), |id| catalog.badge_class(id)));

    let mut awards: Vec<AwardInput> = Vec::new();
    match obj.get("direct_awards") {
        None => {
            errors.insert("direct_awards".into(), FieldError::required().to_json_list());
        }
        Some(Value::Null) => {
            errors.insert("direct_awards".into(), FieldError::null().to_json_list());
        }
        Some(Value::Array(items)) => {
            let mut item_errors = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Null => {
                        // ListSerializer collects ['This field may not be null.'],
                        // a list, which validate_errors then calls .items() on.
                        formatting_crash.get_or_insert_with(|| "'list' object has no attribute 'items'".into());
                        item_errors.push(Value::Null);
                    }
                    Value::Object(member) => {
                        let (award, problems) = validate_award(catalog, member, check_eppn, &mut raised);
                        awards.push(award);
                        item_errors.push(Value::Object(problems));
                    }
                    other => {
                        let message =
                            format!("Invalid data. Expected a dictionary, but got {}.", python::type_name(other));
                        item_errors
                            .push(Value::Object(one_field("non_field_errors", &FieldError::new("902", message))));
                    }
                }
            }
            if item_errors.iter().any(|e| e.as_object().is_none_or(|o| !o.is_empty())) {
                errors.insert("direct_awards".into(), Value::Array(item_errors));
            }
        }
        Some(_) => {
            // ListSerializer raises {'non_field_errors': [...]}: a dict, whose
            // keys validate_errors then calls .items() on.
            formatting_crash.get_or_insert_with(|| "'str' object has no attribute 'items'".into());
            errors.insert("direct_awards".into(), Value::Null);
        }
    }

    let sis_user_id = keep(&mut errors, "sis_user_id", fields::char_field(obj.get("sis_user_id"), true, true));
    let batch_mode = keep(&mut errors, "batch_mode", fields::bool_field(obj.get("batch_mode"), true));
    let batch_mode = batch_mode.into_option().unwrap_or(false);
    let status = keep(&mut errors, "status", fields::char_field(obj.get("status"), true, false));
    let identifier_type =
        keep(&mut errors, "identifier_type", fields::char_field(obj.get("identifier_type"), false, false));
    let scheduled_at = keep(&mut errors, "scheduled_at", fields::datetime_field(obj.get("scheduled_at"))).into_option();
    let notify_recipients = match fields::bool_field(obj.get("notify_recipients"), false) {
        Ok(Field::Given(b)) => b,
        Ok(_) => {
            errors.insert("notify_recipients".into(), FieldError::required().to_json_list());
            false
        }
        Err(e) => {
            errors.insert("notify_recipients".into(), e.to_json_list());
            false
        }
    };

    if let Some(message) = raised {
        return Out::PyError(message);
    }
    if !errors.is_empty() {
        return match formatting_crash {
            Some(message) => Out::PyError(message),
            None => validation_error(errors),
        };
    }

    // DirectAwardBundleSerializer.create, in its order.
    let Field::Given(bc_index) = badgeclass else { return Out::PyError("'badgeclass'".into()) };
    let Some(badge_class) = catalog.badge_classes.get(bc_index) else { return Out::PyError("'badgeclass'".into()) };
    if badge_class.direct_awarding_disabled {
        return Out::PyError(format!("Direct awarding disabled for {}", badge_class.name));
    }
    if badge_class.is_private {
        return Out::PyError(format!(" Badgeclass {} is not published. Direct awarding not allowed", badge_class.name));
    }
    let bundle_status = match (&scheduled_at, status) {
        (Some(_), _) => "Scheduled".to_owned(),
        (None, Field::Given(status)) => status,
        (None, Field::Absent) => "Active".to_owned(),
        (None, Field::Null) => return Out::PyError("(1048, \"Column 'status' cannot be null\")".into()),
    };
    let identifier_type = identifier_type.into_option().unwrap_or_else(|| "eppn".to_owned());
    let eppn_mode = identifier_type == "eppn";
    let bundle_id = new_entity_id();
    let da_status = if scheduled_at.is_some() { DirectAwardStatus::Scheduled } else { DirectAwardStatus::Unaccepted };

    // Everything below happens in one transaction: an exception rolls back
    // the bundle and every award, so nothing is stored until the end.
    let mut created: Vec<DirectAward> = Vec::new();
    let mut rejected: Vec<Value> = Vec::new();
    for award in awards {
        let Some(email) = award.recipient_email.map(|e| e.to_lowercase()) else {
            return Out::PyError("'recipient_email'".into());
        };
        let eppn = if eppn_mode {
            match award.eppn {
                None | Some(Field::Absent) => return Out::PyError("'eppn'".into()),
                Some(Field::Null) => return Out::PyError("'NoneType' object has no attribute 'lower'".into()),
                Some(Field::Given(eppn)) => Some(eppn.to_lowercase()),
            }
        } else {
            None
        };
        if award.has_badgeclass {
            // create(badgeclass=…, **direct_award) with a 'badgeclass' key.
            rejected.push(json!({
                "error": "django.db.models.query.QuerySet.create() got multiple values for keyword argument 'badgeclass'",
                "eppn": eppn, "email": email,
            }));
            continue;
        }
        let duplicate = world.direct_awards.iter().chain(created.iter()).any(|d| {
            d.badgeclass == badge_class.entity_id
                && d.status == DirectAwardStatus::Unaccepted
                && ((d.identifier_type == "eppn" && d.eppn.is_some() && d.eppn == eppn)
                    || (d.identifier_type == "email" && d.recipient_email == email))
        });
        if duplicate {
            rejected.push(json!({
                "error": format!(
                    "DirectAward with eppn: {} / email: {email} and status Unaccepted already exists for badgeclass {} ({}).",
                    eppn.as_deref().unwrap_or("None"), badge_class.name, bc_index + 1
                ),
                "eppn": eppn, "email": email,
            }));
            continue;
        }
        created.push(DirectAward {
            entity_id: new_entity_id(),
            bundle: bundle_id.clone(),
            badgeclass: badge_class.entity_id.clone(),
            identifier_type: identifier_type.clone(),
            eppn,
            recipient_email: email,
            status: da_status,
            created_at: now,
            expiration_date: now + Days::days(EXPIRY_DAYS),
            delete_at: None,
            revocation_reason: None,
            recipient_first_name: award.first_name.filter(|s| !s.is_empty()),
            recipient_surname: award.surname.filter(|s| !s.is_empty()),
            grade_achieved: award.grade_achieved,
            evidence_url: award.evidence_url,
            narrative: award.narrative,
            name: award.name,
            description: award.description,
        });
    }
    if created.is_empty() {
        return Out::PyError(format!(
            "No valid DirectAwards are created. All of them were rejected: {}",
            python::repr(&Value::Array(rejected))
        ));
    }
    let initial_total = created.len() + rejected.len();
    world.bundles.push(Bundle {
        entity_id: bundle_id.clone(),
        badgeclass: badge_class.entity_id.clone(),
        initial_total,
        status: bundle_status,
        identifier_type,
        notify_recipients,
        batch_mode,
        sis_user_id: sis_user_id.into_option(),
        scheduled_at,
        created_at: now,
    });
    world.direct_awards.extend(created);
    let mut body = json!({"badgeclass": badge_class.entity_id, "entity_id": bundle_id});
    if !rejected.is_empty() {
        body["un_successful_direct_award"] = Value::Array(rejected);
    }
    Out::Drf(201, Some(body))
}

/// The field's value, or `Absent` with its error recorded.
fn keep<T>(errors: &mut Map<String, Value>, name: &str, result: Result<Field<T>, FieldError>) -> Field<T> {
    result.unwrap_or_else(|e| {
        errors.insert(name.to_owned(), e.to_json_list());
        Field::Absent
    })
}

fn one_field(name: &str, error: &FieldError) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(name.to_owned(), error.to_json_list());
    map
}

/// DirectAwardSerializer over one item: the values and the errors, in field order.
fn validate_award(
    catalog: &Catalog,
    member: &Map<String, Value>,
    check_eppn: bool,
    raised: &mut Option<String>,
) -> (AwardInput, Map<String, Value>) {
    let mut errors = Map::new();
    let mut award = AwardInput::default();
    let badgeclass =
        keep(&mut errors, "badgeclass", fields::slug_field(member.get("badgeclass"), |id| catalog.badge_class(id)));
    award.has_badgeclass = matches!(badgeclass, Field::Given(_));
    match fields::char_field(member.get("eppn"), true, true) {
        Ok(Field::Given(eppn)) if check_eppn && !catalog.eppn_matches(&eppn) => {
            errors.insert("eppn".into(), FieldError::new("999", "Incorrect eppn format").to_json_list());
        }
        Ok(Field::Null) if check_eppn => {
            raised.get_or_insert_with(|| "expected string or bytes-like object, got 'NoneType'".into());
        }
        Ok(field) => award.eppn = Some(field),
        Err(e) => {
            errors.insert("eppn".into(), e.to_json_list());
        }
    }
    award.recipient_email =
        keep(&mut errors, "recipient_email", fields::email_field(member.get("recipient_email"))).into_option();
    let mut text = |name: &str, allow_null: bool, allow_blank: bool| {
        keep(&mut errors, name, fields::char_field(member.get(name), allow_null, allow_blank)).into_option()
    };
    award.first_name = text("first_name", true, true);
    award.surname = text("surname", true, true);
    let _ignored_status = text("status", false, false);
    award.evidence_url = keep(&mut errors, "evidence_url", fields::url_field(member.get("evidence_url"))).into_option();
    let mut text = |name: &str| keep(&mut errors, name, fields::char_field(member.get(name), true, true)).into_option();
    award.narrative = text("narrative");
    award.name = text("name");
    award.description = text("description");
    award.grade_achieved = text("grade_achieved");
    (award, errors)
}

/// E2 `GET /directaward/bundle/{id}`.
pub(super) fn bundle(catalog: &Catalog, world: &World, entity_id: &str) -> Out {
    let Some(bundle) = world.bundles.iter().find(|b| b.entity_id == entity_id) else {
        return Out::Drf(404, None);
    };
    let name = catalog.badge_classes.iter().find(|bc| bc.entity_id == bundle.badgeclass).map(|bc| bc.name.as_str());
    let das: Vec<&DirectAward> = world.direct_awards.iter().filter(|d| d.bundle == bundle.entity_id).collect();
    let assertions: Vec<&Assertion> = world.assertions.iter().filter(|a| a.bundle == bundle.entity_id).collect();
    let count = |status: DirectAwardStatus| das.iter().filter(|d| d.status == status).count();
    Out::Drf(
        200,
        Some(json!({
            "initial_total": bundle.initial_total,
            "status": bundle.status,
            "badgeclass": name,
            "assertion_count": assertions.iter().filter(|a| !a.revoked).count(),
            "direct_award_count": count(DirectAwardStatus::Unaccepted),
            "direct_award_rejected_count": count(DirectAwardStatus::Rejected),
            "direct_award_scheduled_count": count(DirectAwardStatus::Scheduled),
            "direct_award_deleted_count": count(DirectAwardStatus::Deleted),
            "direct_award_revoked_count": assertions.iter().filter(|a| a.revoked).count(),
            "direct_awards": das.iter().map(|d| json!({
                "recipient_email": d.recipient_email, "eppn": d.eppn,
                "status": d.status.as_str(), "entity_id": d.entity_id,
            })).collect::<Vec<_>>(),
            "badge_assertions": assertions.iter().map(|a| json!({
                "full_name": a.full_name, "email": a.recipient_email, "public": true,
                "revoked": a.revoked, "entity_id": a.entity_id,
                // The claimant's first eppn, or [] when they have none.
                "eppn": a.eppn.as_ref().map_or(json!([]), |e| json!(e)),
            })).collect::<Vec<_>>(),
        })),
    )
}

/// E3 `PUT /directaward/delete-direct-awards`: not atomic; each award
/// changes as it is reached.
pub(super) fn delete_direct_awards(world: &mut World, data: &Value, now: DateTime<Utc>) -> Out {
    let Some(obj) = data.as_object() else {
        return Out::PyError(format!("'{}' object has no attribute 'get'", python::type_name(data)));
    };
    if !fields::truthy(obj.get("direct_awards")) {
        return field_required("direct_awards");
    }
    let reason = obj.get("revocation_reason").filter(|r| !r.is_null()).map(python::str_of);
    let items = match fields::python_iter(obj.get("direct_awards").unwrap_or(&Value::Null)) {
        Ok(items) => items,
        Err(message) => return Out::PyError(message),
    };
    let mut deleted = 0usize;
    let mut failed: Vec<Value> = Vec::new();
    for item in &items {
        let Some(item) = item.as_object() else { return Out::PyError(python::subscript_error(item)) };
        let Some(entity_id) = item.get("entity_id") else { return Out::PyError("'entity_id'".into()) };
        let found = entity_id.as_str().and_then(|id| world.direct_awards.iter_mut().find(|d| d.entity_id == id));
        match found {
            None => failed.push(json!({
                "error": "DirectAward matching query does not exist.",
                "eppn": item.get("eppn").cloned().unwrap_or(Value::Null),
                "email": item.get("recipient_email").cloned().unwrap_or(Value::Null),
            })),
            Some(da) if da.status == DirectAwardStatus::Deleted => failed.push(json!({
                "error": "DirectAward has already been deleted", "eppn": da.eppn, "email": da.recipient_email,
            })),
            Some(da) => {
                da.status = DirectAwardStatus::Deleted;
                da.delete_at = Some(now + Days::days(DELETION_DAYS));
                da.revocation_reason = reason.clone();
                deleted += 1;
            }
        }
    }
    if deleted == 0 {
        return Out::PyError(format!(
            "No valid DirectAwards are deleted. All of them were rejected: {}",
            python::repr(&Value::Array(failed))
        ));
    }
    Out::Drf(200, Some(json!({"result": "ok", "un_successful_direct_awards": failed})))
}

/// E4 `POST /issuer/revoke-assertions`: not atomic; stops at the first failure.
pub(super) fn revoke_assertions(world: &mut World, data: &Value) -> Out {
    let Some(obj) = data.as_object() else {
        return Out::PyError(format!("'{}' object has no attribute 'get'", python::type_name(data)));
    };
    if !fields::truthy(obj.get("revocation_reason")) {
        return field_required("revocation_reason");
    }
    if !fields::truthy(obj.get("assertions")) {
        return field_required("assertions");
    }
    let reason = obj.get("revocation_reason").map(python::str_of);
    let items = match fields::python_iter(obj.get("assertions").unwrap_or(&Value::Null)) {
        Ok(items) => items,
        Err(message) => return Out::PyError(message),
    };
    for item in &items {
        let Some(item) = item.as_object() else { return Out::PyError(python::subscript_error(item)) };
        let Some(entity_id) = item.get("entity_id") else { return Out::PyError("'entity_id'".into()) };
        let found = entity_id.as_str().and_then(|id| world.assertions.iter_mut().find(|a| a.entity_id == id));
        match found {
            None => return Out::PyError("BadgeInstance matching query does not exist.".into()),
            Some(assertion) if assertion.revoked => {
                return Out::PyError("['Assertion is already revoked']".into());
            }
            Some(assertion) => {
                assertion.revoked = true;
                assertion.revocation_reason = reason.clone();
            }
        }
    }
    Out::Drf(200, Some(json!({"result": "ok"})))
}

/// A naive UTC time as the raw MySQL queries of `/queries/*` give it.
fn naive(t: &DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// E5 `GET /queries/badge-classes`.
pub(super) fn badge_classes(catalog: &Catalog, world: &World) -> Out {
    let list: Vec<Value> = catalog
        .badge_classes
        .iter()
        .map(|bc| {
            let awarded = world.assertions.iter().filter(|a| a.badgeclass == bc.entity_id).count();
            json!({
                "createdAt": naive(&catalog.created_at), "name": bc.name,
                "image": format!("uploads/badges/{}.png", bc.entity_id), "archived": 0,
                "entityId": bc.entity_id, "isPrivate": i32::from(bc.is_private), "isMicroCredentials": 0,
                "typeBadgeClass": "micro_credential",
                "i_name_english": ISSUER_NAME.0, "i_name_dutch": ISSUER_NAME.1, "i_entity_id": ISSUER_ID,
                "i_image_dutch": "", "i_image_english": "",
                "f_name_english": FACULTY_NAME.0, "f_name_dutch": FACULTY_NAME.1, "f_entity_id": FACULTY_ID,
                "onBehalfOf": 0, "onBehalfOfDisplayName": null, "f_image_dutch": "", "f_image_english": "",
                "ins_entity_id": INSTITUTION_ID, "ins_name_english": INSTITUTION_NAME.0,
                "ins_name_dutch": INSTITUTION_NAME.1, "ins_image_dutch": "", "ins_image_english": "",
                "tags": null, "selfRequestedAssertionsCount": 0, "directAwardedAssertionsCount": awarded,
                "pendingEnrollmentCount": 0, "ins_staff": 1, "fac_staff": null, "iss_staff": null, "bc_staff": null,
            })
        })
        .collect();
    Out::Drf(200, Some(Value::Array(list)))
}

/// E6 `GET /queries/direct-awards?status=unclaimed|deleted`: `unclaimed`
/// (the default) lists Unaccepted and Scheduled awards, any other value
/// Deleted ones.
pub(super) fn direct_awards(catalog: &Catalog, world: &World, status: Option<&str>) -> Out {
    let unclaimed = status.unwrap_or("unclaimed") == "unclaimed";
    let list: Vec<Value> = world
        .direct_awards
        .iter()
        .filter(|d| match d.status {
            DirectAwardStatus::Unaccepted | DirectAwardStatus::Scheduled => unclaimed,
            DirectAwardStatus::Deleted => !unclaimed,
            DirectAwardStatus::Rejected => false,
        })
        .map(|d| {
            let name = catalog.badge_classes.iter().find(|bc| bc.entity_id == d.badgeclass).map(|bc| bc.name.as_str());
            json!({
                "created_at": naive(&d.created_at), "resend_at": null,
                "delete_at": d.delete_at.as_ref().map(naive), "recipientEmail": d.recipient_email,
                "eppn": d.eppn, "entityId": d.entity_id, "expiration_date": naive(&d.expiration_date),
                "name": name, "bc_entity_id": d.badgeclass,
                "i_name_english": ISSUER_NAME.0, "i_name_dutch": ISSUER_NAME.1, "i_entity_id": ISSUER_ID,
                "f_name_english": FACULTY_NAME.0, "f_name_dutch": FACULTY_NAME.1, "f_entity_id": FACULTY_ID,
            })
        })
        .collect();
    Out::Drf(200, Some(Value::Array(list)))
}

/// E7 `GET /public/badges/{id}?expand=…`: the OB2 BadgeClass; 404 for
/// private and unknown badge classes.
pub(super) fn public_badge(catalog: &Catalog, entity_id: &str, expand: &[String]) -> Out {
    let Some(bc) = catalog.badge_classes.iter().find(|bc| bc.entity_id == entity_id && !bc.is_private) else {
        return Out::Drf(404, Some(json!({"detail": "Not found."})));
    };
    let base = &catalog.base_url;
    let mut badge = json!({
        "@context": "https://w3id.org/openbadges/v2",
        "type": "BadgeClass",
        "name": bc.name,
        "description": format!("{} (a badge class of the Edubadges test double)", bc.name),
        "id": format!("{base}/public/badges/{}", bc.entity_id),
        "issuer": format!("{base}/public/issuers/{ISSUER_ID}"),
        "image": format!("{base}/public/badges/{}/image", bc.entity_id),
        "criteria": {"narrative": "Completed the course and passed its assessment."},
        "alignment": [],
        "tags": [],
    });
    if expand.iter().any(|e| e == "issuer") {
        badge["issuer"] = json!({
            "@context": "https://w3id.org/openbadges/v2", "type": "Issuer", "name": ISSUER_NAME.0,
            "name_english": ISSUER_NAME.0, "name_dutch": ISSUER_NAME.1,
            "id": format!("{base}/public/issuers/{ISSUER_ID}"), "email": "badges@mock-university.example",
        });
    }
    if expand.iter().any(|e| e == "micro") {
        let members = json!({
            "participation": "online", "assessmentType": "written_exam", "assessmentIdVerified": true,
            "assessmentSupervised": true, "qualityAssuranceDescription": "Reviewed by the examination board.",
            "qualityAssuranceName": "Examination board", "qualityAssuranceUrl": "https://mock-university.example/qa",
            "stackable": false, "gradeAchievedRequired": false, "eqfNlqfLevelVerified": false,
            "typeBadgeClass": "micro_credential",
        });
        if let (Some(target), Some(extra)) = (badge.as_object_mut(), members.as_object()) {
            target.extend(extra.clone());
        }
    }
    Out::Drf(200, Some(badge))
}

/// The student claims a direct award (`POST /directaward/accept/{id}` with
/// `accept: true`): an assertion issued on the award's creation time, and
/// the direct award deleted. Only `Unaccepted` awards can be claimed.
pub(super) fn claim(world: &mut World, da_id: &str) -> Option<String> {
    let index =
        world.direct_awards.iter().position(|d| d.entity_id == da_id && d.status == DirectAwardStatus::Unaccepted)?;
    let da = world.direct_awards.remove(index);
    let full_name = match (&da.recipient_first_name, &da.recipient_surname) {
        (Some(first), Some(last)) => format!("{first} {last}"),
        _ => da.recipient_email.split('@').next().unwrap_or_default().to_owned(),
    };
    let entity_id = new_entity_id();
    world.assertions.push(Assertion {
        entity_id: entity_id.clone(),
        badgeclass: da.badgeclass,
        bundle: da.bundle,
        direct_award: da.entity_id,
        identifier_type: da.identifier_type,
        eppn: da.eppn,
        recipient_email: da.recipient_email,
        full_name,
        issued_on: da.created_at,
        grade_achieved: da.grade_achieved,
        revoked: false,
        revocation_reason: None,
    });
    Some(entity_id)
}

/// The student declines a direct award (`accept: false`): `Rejected`.
pub(super) fn reject(world: &mut World, da_id: &str) -> bool {
    match world.direct_awards.iter_mut().find(|d| d.entity_id == da_id && d.status == DirectAwardStatus::Unaccepted) {
        Some(da) => {
            da.status = DirectAwardStatus::Rejected;
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog {
            badge_classes: vec![MockBadgeClass::new("bcbcbcbcbcbcbcbcbcbcbc", "Course")],
            eppn_regex: None,
            base_url: "http://mock".into(),
            created_at: Utc::now(),
        }
    }

    fn body(awards: Value) -> Value {
        json!({"badgeclass": "bcbcbcbcbcbcbcbcbcbcbc", "notify_recipients": true, "direct_awards": awards})
    }

    #[test]
    fn create_fails_where_edubadges_server_raises() {
        let catalog = catalog();
        let mut world = World::default();
        let mut run = |data: Value| create(&catalog, &mut world, &data, Utc::now());
        let raised = |m: &str| Out::PyError(m.to_owned());
        assert_eq!(run(body(json!("x"))), raised("'str' object has no attribute 'items'"));
        assert_eq!(run(body(json!([null]))), raised("'list' object has no attribute 'items'"));
        assert_eq!(
            run(body(json!([{"eppn": null, "recipient_email": "a@b.nl"}]))),
            raised("'NoneType' object has no attribute 'lower'")
        );
        let mut status_null = body(json!([{"eppn": "a", "recipient_email": "a@b.nl"}]));
        status_null["status"] = Value::Null;
        assert_eq!(run(status_null), raised("(1048, \"Column 'status' cannot be null\")"));
        let Out::Drf(400, Some(list_body)) = run(json!([1])) else { panic!("a list body is a validation error") };
        assert_eq!(
            list_body["fields"]["error_message"]["non_field_errors"][0]["error_message"],
            "Invalid data. Expected a dictionary, but got list."
        );
        // An item naming its own badge class fails on its own.
        let Out::Drf(201, Some(partial)) = run(body(json!([
            {"eppn": "a", "recipient_email": "a@b.nl", "badgeclass": "bcbcbcbcbcbcbcbcbcbcbc"},
            {"eppn": "b", "recipient_email": "b@b.nl"},
        ]))) else {
            panic!("one award is created")
        };
        let error = partial["un_successful_direct_award"][0]["error"].as_str().unwrap_or_default();
        assert!(error.ends_with("got multiple values for keyword argument 'badgeclass'"), "{error}");
        assert_eq!(world.direct_awards.len(), 1);
        assert_eq!(world.bundles[0].initial_total, 2);
    }

    #[test]
    fn fixed_ids_look_like_edubadges_ids() {
        for id in [ISSUER_ID, FACULTY_ID, INSTITUTION_ID, &new_entity_id()] {
            assert_eq!(id.len(), 22, "{id}");
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{id}");
        }
    }

    #[test]
    fn the_eppn_pattern_is_anchored_at_the_start_only() {
        let re = compile_eppn_regex(r"[a-z0-9]+@uni\.nl").unwrap();
        assert!(re.is_match("S1@UNI.NL").unwrap());
        assert!(re.is_match("s1@uni.nl.evil").unwrap());
        assert!(!re.is_match("x s1@uni.nl").unwrap());
    }
}
