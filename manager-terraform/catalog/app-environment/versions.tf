terraform {
  # terraform_data is built into Terraform 1.4+ (and OpenTofu 1.6+): nothing to
  # download, so this module plans and applies offline. A validation that names another
  # variable (max_instances >= min_instances) needs Terraform 1.9+ (OpenTofu 1.8+).
  required_version = ">= 1.9.0"
}
