//! The merged document states the rules the services enforce (the rules themselves are tested
//! beside each parser, and against the running system by `.ci/contract-check.sh`).

use serde_json::{Value, json};

fn document() -> Value {
    serde_json::to_value(crate::openapi()).unwrap()
}

fn component<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

/// Every `$ref` anywhere under `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target.clone());
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// In the merged document and in each service's own (served at its own port).
#[test]
fn every_reference_resolves() {
    let documents = [
        crate::openapi(),
        patients::openapi(),
        doctors::openapi(),
        appointments::openapi(),
        notifications::openapi(),
        identity::openapi(),
        analytics::openapi(),
    ];
    for doc in documents.map(|doc| serde_json::to_value(doc).unwrap()) {
        let mut found = Vec::new();
        references(&doc, &mut found);
        for target in found {
            let name = target.strip_prefix("#/components/schemas/").unwrap();
            assert!(component(&doc, name).is_object(), "{target} is not defined");
        }
    }
}

#[test]
fn required_is_what_the_code_requires() {
    let doc = document();
    let cases = [
        ("TimeOffInput", json!(["from", "to"])),
        ("NewNotification", json!(["recipientId", "message"])),
        (
            "NewAppointment",
            json!(["patientId", "doctorId", "appointmentDate"]),
        ),
        (
            "PatientInput",
            json!(["name", "email", "phone", "dob", "address"]),
        ),
        (
            "DoctorInput",
            json!(["name", "email", "phone", "speciality"]),
        ),
        ("RegisterRequest", json!(["email", "password"])),
    ];
    for (name, required) in cases {
        assert_eq!(component(&doc, name)["required"], required, "{name}");
    }
    let subject = &component(&doc, "NewNotification")["properties"]["subject"];
    assert_eq!(subject["oneOf"][1], json!({"type": "null"}));
}

#[test]
fn each_role_requires_its_profile_fields() {
    let doc = document();
    let body = &doc["paths"]["/api/auth/register"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/Registration");
    let roles = &component(&doc, "Registration")["allOf"][1]["anyOf"];
    assert_eq!(
        roles[0]["required"],
        json!(["name", "phone", "dob", "address"])
    );
    assert_eq!(
        roles[1]["required"],
        json!(["name", "phone", "speciality", "role"])
    );
    assert_eq!(roles[1]["properties"]["role"]["enum"], json!(["DOCTOR"]));
    assert_eq!(roles[2]["required"], json!(["role"]));
}

#[test]
fn fields_reference_their_shared_rule() {
    let doc = document();
    let field = |schema: &str, name: &str| component(&doc, schema)["properties"][name].clone();
    assert_eq!(
        field("PatientInput", "name")["$ref"],
        "#/components/schemas/PersonName"
    );
    assert_eq!(
        field("DoctorInput", "name")["$ref"],
        "#/components/schemas/PersonName"
    );
    assert_eq!(
        field("NewAppointment", "patientId")["$ref"],
        "#/components/schemas/Id"
    );
    let name = component(&doc, "PersonName");
    assert_eq!(
        (&name["minLength"], &name["maxLength"]),
        (&json!(1), &json!(200))
    );
    assert!(name["pattern"].is_string());
    assert_eq!(component(&doc, "Id")["minimum"], 1);
    assert_eq!(component(&doc, "Id")["format"], "int64");
    let visit = component(&doc, "VisitMinutes");
    assert_eq!(
        (&visit["minimum"], &visit["maximum"]),
        (&json!(5), &json!(480))
    );
    assert_eq!(component(&doc, "Date")["format"], "date");
    assert_eq!(component(&doc, "Email")["format"], "email");
    assert_eq!(
        component(&doc, "Instant")["anyOf"][0]["format"],
        "date-time"
    );
}

#[test]
fn path_ids_and_pages_state_their_ranges() {
    let doc = document();
    let mut ids = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                match parameter["name"].as_str().unwrap() {
                    "id" => {
                        ids += 1;
                        assert_eq!(parameter["schema"]["$ref"], "#/components/schemas/Id");
                    }
                    "size" => {
                        assert_eq!(parameter["schema"]["minimum"], 1, "{path}");
                        assert_eq!(parameter["schema"]["maximum"], 100, "{path}");
                    }
                    "page" => assert_eq!(parameter["schema"]["minimum"], 0, "{path}"),
                    _ => {}
                }
            }
        }
    }
    assert!(ids >= 10);
}

#[test]
fn card_payments_are_in_the_merged_document() {
    let doc = document();
    let checkout = &doc["paths"]["/api/billing/invoices/{id}/checkout"]["post"];
    assert_eq!(
        checkout["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Checkout"
    );
    for status in ["404", "409", "503"] {
        assert!(checkout["responses"][status].is_object(), "{status}");
    }
    let webhook = &doc["paths"]["/api/billing/webhooks/payments"]["post"];
    let signature = &webhook["parameters"][0];
    assert_eq!(
        (&signature["name"], &signature["in"], &signature["required"]),
        (&json!("Stripe-Signature"), &json!("header"), &json!(true))
    );
    assert!(webhook["responses"]["400"].is_object());
    assert!(webhook["responses"]["413"].is_object());
    assert_eq!(
        component(&doc, "WebhookOutcome")["enum"],
        json!(["PAID", "DUPLICATE", "IGNORED"])
    );
    assert_eq!(
        component(&doc, "ProviderWebhook")["required"],
        json!(["id", "type", "data"])
    );
}

/// The analytics questions need every parameter; `groupBy` is one of three names.
#[test]
fn analytics_parameters_are_required() {
    let doc = document();
    for (path, names) in [
        ("/api/analytics/summary", &["from", "to"][..]),
        (
            "/api/analytics/appointments",
            &["groupBy", "from", "to"][..],
        ),
    ] {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        for name in names {
            let param = params.iter().find(|p| p["name"] == *name).unwrap();
            assert_eq!(param["required"], true, "{path} {name}");
        }
    }
    let group_key = component(&doc, "GroupKey");
    assert_eq!(group_key["enum"], json!(["day", "doctor", "speciality"]));
}

/// `openapi.json`, which the gateway serves, is the document the services describe. After a
/// change to any endpoint or schema: `CAREBOOK_WRITE_OPENAPI=1 cargo test -p carebook --lib
/// openapi` writes it anew; commit it with the change.
#[test]
fn the_served_document_is_the_merged_one() {
    let merged = crate::openapi()
        .to_pretty_json()
        .expect("the document serializes");
    if std::env::var_os("CAREBOOK_WRITE_OPENAPI").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        std::fs::write(path, format!("{merged}\n")).expect("openapi.json is writable");
        return;
    }
    let served: Value = serde_json::from_str(crate::OPENAPI_JSON).expect("openapi.json is JSON");
    assert!(
        served == document(),
        "crates/carebook/openapi.json is not the merged document: run \
         `CAREBOOK_WRITE_OPENAPI=1 cargo test -p carebook --lib openapi` and commit it"
    );
}
