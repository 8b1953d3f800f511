# One customer environment on AWS: a VPC with a public subnet per availability zone,
# an internet gateway, a security group that admits HTTPS, and an autoscaling group
# of Amazon Linux 2023 instances from a launch template.
#
# The root module that infra-manager renders is module-agnostic (it only passes the
# inputs in variables.tf), so this module configures its own provider. As a
# consequence it can't be called with count, for_each or depends_on.

provider "aws" {
  region = var.region

  default_tags {
    tags = local.common_tags
  }
}

locals {
  # One subnet per zone, each a 1/16 of the VPC, but never smaller than /28 (AWS's
  # smallest subnet): a /28 VPC holds a single subnet, a /27 two, a /26 four.
  subnet_newbits = min(4, 28 - tonumber(split("/", var.vpc_cidr)[1]))
  name_prefix    = "${var.project_name}-${var.environment}"
  # Names that must be unique per AWS account and region include a short hash of the
  # customer, so two customers with the same project and environment never collide.
  unique_prefix = "${local.name_prefix}-${substr(sha256(var.customer), 0, 8)}"

  # The customer's tags, then ours: a customer can't override the management tags.
  common_tags = merge(var.tags, {
    "managed-by"             = "infra-manager"
    "infra-manager/customer" = var.customer
  })

  amazon_linux_ami_parameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
  zone_letters               = ["a", "b", "c", "d", "e", "f"]
}

data "aws_availability_zones" "available" {
  state = "available"

  # Only the zones every account has, not Local or Wavelength Zones.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }

  # A closed set of zone names (the region's zones a to f): a zone AWS adds later never
  # joins an environment's subnets unannounced.
  filter {
    name   = "zone-name"
    values = [for letter in local.zone_letters : "${var.region}${letter}"]
  }
}

data "aws_ssm_parameter" "amazon_linux" {
  name = local.amazon_linux_ami_parameter
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-vpc" })

  lifecycle {
    precondition {
      condition     = var.availability_zones <= length(data.aws_availability_zones.available.names)
      error_message = "The region ${var.region} has only ${length(data.aws_availability_zones.available.names)} availability zones, fewer than the ${var.availability_zones} requested."
    }
  }
}

# The VPC's default security group admits nothing: every instance uses the app group.
resource "aws_default_security_group" "default" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-default-closed" })
}

# VPC flow logs (accepted and rejected traffic) to CloudWatch Logs, kept a year.
resource "aws_cloudwatch_log_group" "flow_logs" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts log data at rest with service-managed keys; a customer-managed KMS key per environment would add a key, its policy and its cost to every customer for no change in who can read the logs (IAM decides that either way).
  name              = "/infra-manager/${local.unique_prefix}/vpc-flow-logs"
  retention_in_days = 365

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-flow-logs" })
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "flow_logs_write" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  name_prefix        = "${substr(local.unique_prefix, 0, 30)}-flow-"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-flow-logs" })
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs_write.json
}

resource "aws_flow_log" "this" {
  vpc_id          = aws_vpc.this.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn    = aws_iam_role.flow_logs.arn

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-flow-logs" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-igw" })
}

resource "aws_subnet" "public" {
  #checkov:skip=CKV_AWS_130:by design the instances serve HTTPS from public subnets with their own public addresses; private subnets would need a NAT gateway per zone (billed per hour) for the instances to reach package mirrors.
  count = var.availability_zones

  vpc_id                  = aws_vpc.this.id
  availability_zone       = data.aws_availability_zones.available.names[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, local.subnet_newbits, count.index)
  map_public_ip_on_launch = true

  tags = merge(local.common_tags, {
    Name = "${local.name_prefix}-public-${data.aws_availability_zones.available.names[count.index]}"
  })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-public" })
}

resource "aws_route_table_association" "public" {
  count = var.availability_zones

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_security_group" "app" {
  name_prefix = "${local.unique_prefix}-app-"
  description = "Application instances of ${local.name_prefix}"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-app" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  security_group_id = aws_security_group.app.id
  description       = "HTTPS"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-app-https" })
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.app.id
  description       = "All traffic"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-app-egress" })
}

resource "aws_launch_template" "app" {
  name_prefix            = "${local.unique_prefix}-"
  image_id               = data.aws_ssm_parameter.amazon_linux.insecure_value
  instance_type          = var.instance_type
  vpc_security_group_ids = [aws_security_group.app.id]
  update_default_version = true

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.common_tags, { Name = "${local.name_prefix}-app" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(local.common_tags, { Name = "${local.name_prefix}-app" })
  }

  tags = merge(local.common_tags, { Name = "${local.name_prefix}-app" })
}

resource "aws_autoscaling_group" "app" {
  name                = "${local.unique_prefix}-app"
  min_size            = var.min_instances
  max_size            = var.max_instances
  desired_capacity    = var.min_instances
  vpc_zone_identifier = aws_subnet.public[*].id
  health_check_type   = "EC2"

  launch_template {
    id      = aws_launch_template.app.id
    version = aws_launch_template.app.latest_version
  }

  # Roll the instances when the launch template changes.
  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 50
    }
  }

  # The provider's default_tags don't reach autoscaling groups.
  dynamic "tag" {
    for_each = merge(local.common_tags, { Name = "${local.name_prefix}-app" })
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    precondition {
      condition     = var.max_instances >= var.min_instances
      error_message = "The max_instances (${var.max_instances}) must be at least min_instances (${var.min_instances})."
    }
  }
}

locals {
  vpc_id                 = aws_vpc.this.id
  subnet_ids             = aws_subnet.public[*].id
  security_group_id      = aws_security_group.app.id
  launch_template_id     = aws_launch_template.app.id
  autoscaling_group_name = aws_autoscaling_group.app.name
  desired_capacity       = aws_autoscaling_group.app.desired_capacity
}
