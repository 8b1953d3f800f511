# A provider-free stand-in for a proof-of-concept environment: an application service,
# its database and a DNS name, sized by `size`. Each terraform_data's `input` carries
# what the real resource would get; `triggers_replace` what would force a new one.
#
# It has no expiry of its own: a proof of concept lives in a customer environment whose
# `expires_at` the provider sets in the registry (`customers[].expires_at`), and `reap`
# destroys the environment, this component with it, once that date has passed.

locals {
  name = "${var.project_name}-${var.component}-${var.environment}"
  tags = merge(var.tags, {
    "managed-by"             = "infra-manager"
    "infra-manager/customer" = var.customer
  })
  sizes = {
    small  = { instances = 1, cpu = 1, memory_gb = 2, storage_gb = 10 }
    medium = { instances = 2, cpu = 2, memory_gb = 4, storage_gb = 50 }
    large  = { instances = 4, cpu = 4, memory_gb = 8, storage_gb = 100 }
  }
  size = local.sizes[var.size]
}

resource "terraform_data" "service" {
  input = {
    name        = local.name
    instances   = local.size.instances
    cpu         = local.size.cpu
    memory_gb   = local.size.memory_gb
    seats       = var.seats
    sample_data = var.sample_data
    tags        = local.tags
  }

  triggers_replace = {
    name = local.name
  }
}

resource "terraform_data" "database" {
  input = {
    identifier = "${local.name}-db"
    storage_gb = local.size.storage_gb
    tags       = local.tags
  }

  triggers_replace = {
    identifier = "${local.name}-db"
  }
}

resource "terraform_data" "dns_record" {
  input = {
    name   = "${local.name}.poc.internal"
    target = terraform_data.service.output.name
  }
}
