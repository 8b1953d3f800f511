terraform {
  # terraform_data is built into Terraform 1.4+ (and OpenTofu 1.6+): nothing to
  # download, so this module plans and applies offline.
  required_version = ">= 1.4.0"
}
