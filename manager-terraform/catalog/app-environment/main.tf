# The sandbox app environment as a catalog component: the existing module, called by
# reference, with the component's name in its resource names. The path is relative to
# this directory, so a rendered root must call this module where it lies (by absolute
# path), not from a copy.

module "app" {
  source = "../../sandbox-app-environment"

  customer = var.customer
  # The sandbox names resources <project_name>-<environment>: the component goes into
  # the project part, giving <project>-<component>-<environment>.
  project_name       = "${var.project_name}-${var.component}"
  environment        = var.environment
  region             = var.region
  instance_type      = var.instance_type
  min_instances      = var.min_instances
  max_instances      = var.max_instances
  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  tags               = var.tags
}
