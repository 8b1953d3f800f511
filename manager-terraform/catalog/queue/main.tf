# A provider-free stand-in for an SQS queue and its dead-letter queue: each
# terraform_data's `input` carries the arguments the real resource would get.

locals {
  name = "${var.project_name}-${var.component}-${var.environment}"
  # The customer's tags, then ours: a customer can't override the management tags.
  tags = merge(var.tags, {
    "managed-by"             = "infra-manager"
    "infra-manager/customer" = var.customer
  })
}

locals {
  # SQS requires FIFO queue names to end in .fifo.
  suffix = var.fifo ? ".fifo" : ""
}

resource "terraform_data" "dead_letter_queue" {
  input = {
    name                      = "${local.name}-dlq${local.suffix}"
    fifo_queue                = var.fifo
    message_retention_seconds = 1209600
    tags                      = local.tags
  }

  # Neither the name nor FIFO-ness of a queue can change in place.
  triggers_replace = {
    name = "${local.name}-dlq${local.suffix}"
  }
}

resource "terraform_data" "queue" {
  input = {
    name                       = "${local.name}${local.suffix}"
    fifo_queue                 = var.fifo
    visibility_timeout_seconds = var.visibility_timeout_seconds
    message_retention_seconds  = var.retention_seconds
    redrive_policy = {
      deadLetterTargetArn = "arn:aws:sqs:::${terraform_data.dead_letter_queue.output.name}"
      maxReceiveCount     = var.max_receive_count
    }
    tags = local.tags
  }

  triggers_replace = {
    name = "${local.name}${local.suffix}"
  }
}
