# The one input the generated configuration cannot carry: the password for the
# blocks that reset a user. Give it to Terraform in TF_VAR_admin_password.
variable "admin_password" {
  description = "The password for every adopted VM whose VMAccess extension resets a user."
  type        = string
  sensitive   = true
  ephemeral   = true # Terraform 1.11+: never written to plan or state
}
