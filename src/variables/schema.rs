//! The JSON Schema of `infra/variables.yml`, for editors (`infra-manager schema`).

use serde_json::{Value, json};

/// The schema, with the manager's environment names as the allowed environment keys.
pub fn json_schema(environments: &[&str]) -> Value {
    let string_or_template = json!({ "type": "string", "minLength": 1 });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://infra-manager.dev/schemas/variables-v1.json",
        "title": "infra-manager customer variables (schema v1)",
        "description": "Infrastructure requirements of one customer repository. String values may use {{ environment }}, {{ customer }} and {{ project_name }}.",
        "type": "object",
        "additionalProperties": false,
        "required": ["project_name", "cloud_provider", "environments", "networking"],
        "properties": {
            "project_name": {
                "type": "string",
                "pattern": "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
                "maxLength": 63,
                "description": "A DNS label naming the application."
            },
            "cloud_provider": { "enum": ["aws"] },
            "environments": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": { "enum": environments },
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["region", "instance_type", "min_instances", "max_instances"],
                    "properties": {
                        "region": string_or_template,
                        "instance_type": string_or_template,
                        "min_instances": { "type": "integer", "minimum": 0 },
                        "max_instances": { "type": "integer", "minimum": 0 }
                    }
                }
            },
            "networking": {
                "type": "object",
                "additionalProperties": false,
                "required": ["vpc_cidr"],
                "properties": {
                    "vpc_cidr": {
                        "type": "string",
                        "pattern": "^([0-9]{1,3}\\.){3}[0-9]{1,3}/(1[6-9]|2[0-8])$"
                    },
                    "availability_zones": { "type": "integer", "minimum": 1, "maximum": 6, "default": 2 }
                }
            },
            "tags": {
                "type": "object",
                "maxProperties": 45,
                "propertyNames": { "minLength": 1, "maxLength": 128, "not": { "pattern": "^[aA][wW][sS]:" } },
                "additionalProperties": { "type": "string", "maxLength": 256 }
            }
        }
    })
}
