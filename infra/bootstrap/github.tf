# GitHub Actions into AWS without stored keys: the account's OIDC provider for
# token.actions.githubusercontent.com (or an existing one), a deploy role per environment that
# only the workflow's jobs running in that GitHub environment can assume, and a plan role for
# pull requests and main with read access only (plus the state lock). Each deploy role may do
# what `terraform apply` of infra/ needs for <deployment_prefix>-<env>-* resources, nothing else.
# Made only when github_repository is set.

locals {
  github        = var.github_repository != null
  oidc_host     = "token.actions.githubusercontent.com"
  oidc_provider = local.github ? coalesce(var.github_oidc_provider_arn, try(aws_iam_openid_connect_provider.github[0].arn, null)) : null
  region        = var.region
  arn           = "arn:${data.aws_partition.current.partition}"
  state_key_arn = "${aws_s3_bucket.state.arn}/${var.state_key_prefix}"

  # Who assumes which role: the OIDC subject of the job (jobs with `environment:` carry it).
  github_roles = local.github ? merge(
    { for e in var.github_environments : "deploy-${e}" => {
      subjects  = ["repo:${var.github_repository}:environment:${e}"]
      pattern   = "${var.deployment_prefix}-${e}"
      env_tag   = e
      read_only = false
      state     = "${local.state_key_arn}/${e}/*"
    } },
    { plan = {
      subjects  = ["repo:${var.github_repository}:pull_request", "repo:${var.github_repository}:ref:refs/heads/main"]
      pattern   = "${var.deployment_prefix}-*"
      env_tag   = "*"
      read_only = true
      state     = "${local.state_key_arn}/*"
    } },
  ) : {}

  # What terraform plan/apply of infra/ calls, by service, on the resources of one deployment
  # (names <pattern>-*). A plan role keeps the Get/Describe/List actions (and API Gateway GET).
  deploy_statements = { for name, r in local.github_roles : name => [
    {
      sid     = "Roles"
      actions = ["iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies", "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription"]
      res     = ["${local.arn}:iam::${local.account_id}:role/${r.pattern}-*"]
    },
    {
      sid       = "PassRolesToServices"
      actions   = ["iam:PassRole"]
      res       = ["${local.arn}:iam::${local.account_id}:role/${r.pattern}-*"]
      condition = { StringEquals = { "iam:PassedToService" = ["apigateway.amazonaws.com", "events.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com"] } }
    },
    {
      sid     = "Functions"
      actions = ["lambda:AddPermission", "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionConfiguration", "lambda:GetPolicy", "lambda:ListTags", "lambda:ListVersionsByFunction", "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"]
      res     = ["${local.arn}:lambda:${local.region}:${local.account_id}:function:${r.pattern}-*"]
    },
    {
      sid     = "EventSourceMappings"
      actions = ["lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"]
      res     = ["${local.arn}:lambda:${local.region}:${local.account_id}:event-source-mapping:*"]
    },
    {
      # No resource-level permission: the mapping's function is the condition.
      sid       = "CreateEventSourceMappings"
      actions   = ["lambda:CreateEventSourceMapping", "lambda:ListEventSourceMappings"]
      res       = ["*"]
      condition = { ArnLike = { "lambda:FunctionArn" = ["${local.arn}:lambda:${local.region}:${local.account_id}:function:${r.pattern}-*"] } }
    },
    {
      sid     = "Table"
      actions = ["dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource", "dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTable"]
      res     = ["${local.arn}:dynamodb:${local.region}:${local.account_id}:table/${r.pattern}-*"]
    },
    {
      sid     = "Queues"
      actions = ["sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:ListQueueTags", "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"]
      res     = ["${local.arn}:sqs:${local.region}:${local.account_id}:${r.pattern}-*"]
    },
    {
      sid     = "Topic"
      actions = ["sns:CreateTopic", "sns:DeleteTopic", "sns:GetSubscriptionAttributes", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource", "sns:SetSubscriptionAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:TagResource", "sns:Unsubscribe", "sns:UntagResource"]
      res     = ["${local.arn}:sns:${local.region}:${local.account_id}:${r.pattern}-*"]
    },
    {
      sid     = "EventBusAndRules"
      actions = ["events:CreateEventBus", "events:DeleteEventBus", "events:DeleteRule", "events:DescribeEventBus", "events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule", "events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:TagResource", "events:UntagResource"]
      res     = ["${local.arn}:events:${local.region}:${local.account_id}:event-bus/${r.pattern}-*", "${local.arn}:events:${local.region}:${local.account_id}:rule/${r.pattern}-*/*"]
    },
    {
      sid     = "StateMachine"
      actions = ["states:CreateStateMachine", "states:DeleteStateMachine", "states:DescribeStateMachine", "states:ListStateMachineVersions", "states:ListTagsForResource", "states:TagResource", "states:UntagResource", "states:UpdateStateMachine"]
      res     = ["${local.arn}:states:${local.region}:${local.account_id}:stateMachine:${r.pattern}-*"]
    },
    {
      # No resource-level permission.
      sid     = "ValidateStateMachineDefinition"
      actions = ["states:ValidateStateMachineDefinition"]
      res     = ["*"]
    },
    {
      # API Gateway names no resources by name: the REST APIs, keys and usage plans of the region.
      sid     = "RestApi"
      actions = ["apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT", "apigateway:SetWebACL"]
      res     = [for p in ["/restapis", "/restapis/*", "/apikeys", "/apikeys/*", "/usageplans", "/usageplans/*", "/account", "/tags/*"] : "${local.arn}:apigateway:${local.region}::${p}"]
    },
    {
      # Keys have no names: the deployment's carry its Environment tag (the root's default_tags).
      sid       = "Keys"
      actions   = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription"]
      res       = ["${local.arn}:kms:${local.region}:${local.account_id}:key/*"]
      condition = { StringLike = { "aws:ResourceTag/Environment" = [r.env_tag] } }
    },
    {
      sid       = "CreateKeys"
      actions   = ["kms:CreateKey"]
      res       = ["*"]
      condition = { StringLike = { "aws:RequestTag/Environment" = [r.env_tag] } }
    },
    {
      sid     = "KeyAliases"
      actions = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
      res     = ["${local.arn}:kms:${local.region}:${local.account_id}:alias/${r.pattern}-*", "${local.arn}:kms:${local.region}:${local.account_id}:key/*"]
    },
    {
      sid     = "LogGroups"
      actions = ["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteMetricFilter", "logs:DeleteRetentionPolicy", "logs:DescribeMetricFilters", "logs:DisassociateKmsKey", "logs:ListTagsForResource", "logs:ListTagsLogGroup", "logs:PutMetricFilter", "logs:PutRetentionPolicy", "logs:TagLogGroup", "logs:TagResource", "logs:UntagLogGroup", "logs:UntagResource"]
      res     = [for g in ["/aws/*/${r.pattern}-*", "/aws/vendedlogs/states/${r.pattern}-*", "aws-waf-logs-${r.pattern}-*"] : "${local.arn}:logs:${local.region}:${local.account_id}:log-group:${g}"]
    },
    {
      # No resource-level permissions: resource policies of log groups, vended log deliveries.
      sid     = "LogPoliciesAndDeliveries"
      actions = ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DeleteResourcePolicy", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery"]
      res     = ["*"]
    },
    {
      sid     = "AlarmsAndDashboard"
      actions = ["cloudwatch:DeleteAlarms", "cloudwatch:DeleteDashboards", "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource", "cloudwatch:PutDashboard", "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
      res     = ["${local.arn}:cloudwatch:${local.region}:${local.account_id}:alarm:${r.pattern}-*", "${local.arn}:cloudwatch::${local.account_id}:dashboard/${r.pattern}-*"]
    },
    {
      sid     = "WebAcl"
      actions = ["wafv2:AssociateWebACL", "wafv2:CreateWebACL", "wafv2:DeleteLoggingConfiguration", "wafv2:DeleteWebACL", "wafv2:DisassociateWebACL", "wafv2:GetLoggingConfiguration", "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:ListTagsForResource", "wafv2:PutLoggingConfiguration", "wafv2:TagResource", "wafv2:UntagResource", "wafv2:UpdateWebACL"]
      res     = ["${local.arn}:wafv2:${local.region}:${local.account_id}:regional/webacl/${r.pattern}-*/*", "${local.arn}:wafv2:${local.region}:${local.account_id}:regional/managedruleset/*/*", "${local.arn}:apigateway:${local.region}::/restapis/*/stages/*"]
    },
  ] }

  # The remote state: the environment's state objects (the plan role: read them and take the lock).
  state_statements = { for name, r in local.github_roles : name => concat(
    [
      { sid = "ListStateBucket", actions = ["s3:ListBucket"], res = [aws_s3_bucket.state.arn] },
      { sid = "UseStateKey", actions = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"], res = [module.key.arn] },
      { sid = "LockTable", actions = ["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem"], res = [aws_dynamodb_table.lock.arn] },
    ],
    r.read_only ? [
      { sid = "ReadState", actions = ["s3:GetObject"], res = [r.state] },
      { sid = "LockState", actions = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], res = ["${r.state}.tflock"] },
      ] : [
      { sid = "ReadWriteState", actions = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], res = [r.state] },
    ],
  ) }

  github_policies = { for name, r in local.github_roles : name => {
    Version = "2012-10-17"
    Statement = [for s in concat(local.state_statements[name], [
      for s in local.deploy_statements[name] : merge(s, {
        actions = [for a in s.actions : a if !r.read_only || can(regex("^[a-z0-9]+:(Get|Describe|List|GET$)", a))]
      })
      ]) : merge(
      { Sid = s.sid, Effect = "Allow", Action = s.actions, Resource = s.res },
      try({ Condition = s.condition }, {}),
    ) if length(s.actions) > 0]
  } }
}

resource "aws_iam_openid_connect_provider" "github" {
  count = local.github && var.github_oidc_provider_arn == null ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # IAM trusts GitHub's certificate authority for this host; the list is kept for older accounts.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

resource "aws_iam_role" "github" {
  for_each = local.github_roles

  name                 = "${var.name_prefix}-github-${each.key}"
  description          = each.value.read_only ? "GitHub Actions: terraform plan of every eventpay environment (read only)." : "GitHub Actions: terraform apply of ${each.value.pattern}."
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.oidc_provider }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.oidc_host}:aud" = "sts.amazonaws.com"
          "${local.oidc_host}:sub" = each.value.subjects
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "github" {
  for_each = local.github_roles

  name   = "${var.name_prefix}-github-${each.key}"
  role   = aws_iam_role.github[each.key].id
  policy = jsonencode(local.github_policies[each.key])
}
