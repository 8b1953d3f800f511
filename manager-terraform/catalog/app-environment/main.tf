# The sandbox app environment (../../sandbox-app-environment) as a catalog component:
# the same terraform_data graph, with the component in resource names
# (<project_name>-<component>-<environment>). A copy rather than a module call, because
# infra-manager copies a module into each working directory and a relative `source`
# would not survive the copy; keep the two graphs alike.

locals {
  # One subnet per zone, each a 1/16 of the VPC, but never smaller than /28 (AWS's
  # smallest subnet): a /28 VPC holds a single subnet, a /27 two, a /26 four.
  subnet_newbits = min(4, 28 - tonumber(split("/", var.vpc_cidr)[1]))
  name_prefix    = "${var.project_name}-${var.component}-${var.environment}"
  # Names that must be unique per AWS account and region include a short hash of the
  # customer, so two customers with the same project and environment never collide.
  unique_prefix = "${local.name_prefix}-${substr(sha256(var.customer), 0, 8)}"

  # The customer's tags, then ours: a customer can't override the management tags.
  common_tags = merge(var.tags, {
    "managed-by"             = "infra-manager"
    "infra-manager/customer" = var.customer
  })

  zone_letters               = ["a", "b", "c", "d", "e", "f"]
  amazon_linux_ami_parameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

resource "terraform_data" "vpc" {
  input = {
    region               = var.region
    cidr_block           = var.vpc_cidr
    enable_dns_support   = true
    enable_dns_hostnames = true
    tags                 = merge(local.common_tags, { Name = "${local.name_prefix}-vpc" })
  }

  # A VPC's CIDR block and region can't change in place.
  triggers_replace = {
    region     = var.region
    cidr_block = var.vpc_cidr
  }
}

resource "terraform_data" "internet_gateway" {
  input = {
    vpc_id = terraform_data.vpc.id
    tags   = merge(local.common_tags, { Name = "${local.name_prefix}-igw" })
  }
}

resource "terraform_data" "subnet" {
  count = var.availability_zones

  input = {
    vpc_id                  = terraform_data.vpc.id
    availability_zone       = "${var.region}${local.zone_letters[count.index]}"
    cidr_block              = cidrsubnet(var.vpc_cidr, local.subnet_newbits, count.index)
    map_public_ip_on_launch = true
    tags                    = merge(local.common_tags, { Name = "${local.name_prefix}-public-${local.zone_letters[count.index]}" })
  }

  triggers_replace = {
    vpc_id     = terraform_data.vpc.id
    cidr_block = cidrsubnet(var.vpc_cidr, local.subnet_newbits, count.index)
  }
}

resource "terraform_data" "route_table" {
  input = {
    vpc_id     = terraform_data.vpc.id
    routes     = [{ cidr_block = "0.0.0.0/0", gateway_id = terraform_data.internet_gateway.id }]
    subnet_ids = terraform_data.subnet[*].id
    tags       = merge(local.common_tags, { Name = "${local.name_prefix}-public" })
  }
}

resource "terraform_data" "security_group" {
  input = {
    vpc_id      = terraform_data.vpc.id
    name_prefix = "${local.unique_prefix}-app-"
    description = "Application instances of ${local.name_prefix}"
    ingress     = [{ description = "HTTPS", protocol = "tcp", from_port = 443, to_port = 443, cidr_ipv4 = "0.0.0.0/0" }]
    egress      = [{ description = "All traffic", protocol = "-1", cidr_ipv4 = "0.0.0.0/0" }]
    tags        = merge(local.common_tags, { Name = "${local.name_prefix}-app" })
  }

  triggers_replace = {
    vpc_id = terraform_data.vpc.id
  }
}

resource "terraform_data" "launch_template" {
  input = {
    name_prefix            = "${local.unique_prefix}-"
    image_id               = "resolve:ssm:${local.amazon_linux_ami_parameter}"
    instance_type          = var.instance_type
    vpc_security_group_ids = [terraform_data.security_group.id]
    http_tokens            = "required"
    tags                   = merge(local.common_tags, { Name = "${local.name_prefix}-app" })
  }
}

resource "terraform_data" "autoscaling_group" {
  input = {
    name                = "${local.unique_prefix}-app"
    min_size            = var.min_instances
    max_size            = var.max_instances
    desired_capacity    = var.min_instances
    vpc_zone_identifier = terraform_data.subnet[*].id
    launch_template     = { id = terraform_data.launch_template.id, version = "$Latest" }
    tags                = merge(local.common_tags, { Name = "${local.name_prefix}-app" })
  }

  lifecycle {
    precondition {
      condition     = var.max_instances >= var.min_instances
      error_message = "The max_instances (${var.max_instances}) must be at least min_instances (${var.min_instances})."
    }
  }
}

locals {
  vpc_id                 = terraform_data.vpc.id
  subnet_ids             = terraform_data.subnet[*].id
  security_group_id      = terraform_data.security_group.id
  launch_template_id     = terraform_data.launch_template.id
  autoscaling_group_name = terraform_data.autoscaling_group.input.name
  desired_capacity       = terraform_data.autoscaling_group.input.desired_capacity
}
