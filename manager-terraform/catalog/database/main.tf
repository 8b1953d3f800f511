# A provider-free stand-in for an RDS instance: each terraform_data's `input` carries
# the arguments the real resource would get; `triggers_replace` what would force a new
# one (and so lose its data: the catalog marks this type protect_destroy).

locals {
  name = "${var.project_name}-${var.component}-${var.environment}"
  # The customer's tags, then ours: a customer can't override the management tags.
  tags = merge(var.tags, {
    "managed-by"             = "infra-manager"
    "infra-manager/customer" = var.customer
  })
}

resource "terraform_data" "subnet_group" {
  input = {
    name = "${local.name}-db"
    tags = local.tags
  }
}

resource "terraform_data" "parameter_group" {
  input = {
    name   = "${local.name}-db"
    family = "${var.engine}${var.engine_version}"
    tags   = local.tags
  }
}

resource "terraform_data" "instance" {
  input = {
    identifier              = local.name
    engine                  = var.engine
    engine_version          = var.engine_version
    instance_class          = var.instance_class
    allocated_storage       = var.storage_gb
    backup_retention_period = var.backup_retention_days
    multi_az                = var.multi_az
    storage_encrypted       = true
    db_subnet_group_name    = terraform_data.subnet_group.output.name
    parameter_group_name    = terraform_data.parameter_group.output.name
    port                    = var.engine == "postgres" ? 5432 : 3306
    tags                    = local.tags
  }

  # A different engine is a different database.
  triggers_replace = {
    identifier = local.name
    engine     = var.engine
  }
}
